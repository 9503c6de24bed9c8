"""`make bench` must keep running as the code changes: the cold-start children answer their one call (the app child
from a session written straight into the store, which must keep matching what the OAuth code reads). The figures
themselves are for `make bench`, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", ["app", "floor"])
def test_the_cold_start_child_answers_one_call(kind: str):
    done = subprocess.run([sys.executable, "-m", "benchmarks.first_call", kind], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    first, *_, last = done.stdout.strip().splitlines()
    report = json.loads(last)
    assert first == "answered"
    assert set(report) == {"sandbox_build_ms", "sandbox_import_ms", "table_storage_import_ms", "sign_in_ms"}
    assert (report["sandbox_import_ms"] > 0) == (kind == "app")


async def test_the_tool_list_figure_measures_every_tool_the_app_lists():
    from benchmarks.tool_list import measure_tool_list

    measured = await measure_tool_list()
    assert measured["tools"] >= 16 and measured["bytes"] > 0
    assert measured["tokens_per_tool"] == measured["bytes"] / 4 / measured["tools"]


async def test_the_bulk_figure_confirms_a_hundred_row_update_and_counts_its_requests():
    from benchmarks.bulk import measure_bulk

    measured = await measure_bulk()
    assert measured["rows"] == 100 and measured["batch_requests"] >= 1 and measured["ms_per_row"] > 0
