"""function_app.collector_paused: the collector is off inside the block, back on after it (also after an error), and
what the block built is frozen out of future collections."""

from __future__ import annotations

import gc

import pytest

from function_app import collector_paused


@pytest.fixture(autouse=True)
def _thaw():
    yield
    gc.unfreeze()
    gc.enable()


def test_collection_is_off_inside_and_back_on_after_with_the_survivors_frozen():
    gc.unfreeze()
    with collector_paused():
        assert not gc.isenabled()
        built = [object() for _ in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() >= len(built)


def test_an_error_while_building_still_turns_collection_back_on():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("import failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
