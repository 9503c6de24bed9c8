"""The sweeper purges expired rows from each named collection and keeps live ones; one failing collection does not
stop the others — on the in-memory store and on Table Storage (Azurite)."""

from __future__ import annotations

import pytest

from dataverse.storage import Store, purge_expired_rows

from .conftest import FakeClock


async def test_sweeper_purges_expired_rows_from_each_collection_and_keeps_live_ones(
    store: Store, clock: FakeClock
) -> None:
    codes, proposals, other = (store.collection(name) for name in ("oauthcodes", "deleteproposals", "untouched"))
    await codes.create("old-code", {"v": 1}, ttl_seconds=60)
    await codes.create("live-code", {"v": 2}, ttl_seconds=3600)
    await proposals.create("old-a", {"v": 3}, ttl_seconds=10)
    await proposals.create("old-b", {"v": 4}, ttl_seconds=30)
    await other.create("old-other", {"v": 5}, ttl_seconds=10)
    clock.advance(61)
    purged = await purge_expired_rows(store, ["oauthcodes", "deleteproposals"])
    assert purged == {"oauthcodes": 1, "deleteproposals": 2}
    assert await codes.get("live-code") is not None
    assert await other.list_expired() != []  # only the named collections are swept
    assert await purge_expired_rows(store, ["oauthcodes", "deleteproposals"]) == {"oauthcodes": 0, "deleteproposals": 0}


async def test_sweeper_keeps_going_past_a_failing_collection_then_raises(store: Store, clock: FakeClock) -> None:
    await store.collection("deleteproposals").create("old", {"v": 1}, ttl_seconds=1)
    clock.advance(2)
    broken = store.collection("oauthcodes")

    async def fail(*, now: float | None = None) -> int:
        raise RuntimeError("table unavailable")

    broken.purge_expired = fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="table unavailable"):
        await purge_expired_rows(store, ["oauthcodes", "deleteproposals"])
    assert await store.collection("deleteproposals").list_expired() == []
