"""`make bench` must keep running as the code changes, and its harness must stay fair. The figures themselves are
for `make bench`, not asserted here: the cold-start children answer their one call (the app child as a fresh
instance of a running deployment: Azurite and the sandbox server, for a user another instance served), the thin
proxy sends exactly the Dataverse request query_records sends and gets the same rows, and results.json keeps a
history of full runs that docs/benchmarks.md shows as a trend."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from benchmarks.history import HISTORY_RUNS, trend_markdown, write_results
from benchmarks.processes import Deployment, base_environment
from benchmarks.report import Row

ROOT = Path(__file__).resolve().parents[1]
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-06-18"}


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with Deployment.start() as running:
        yield running


def _child(kind: str, env: dict[str, str]) -> tuple[str, dict[str, float]]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.first_call", kind], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    first, *_, last = done.stdout.strip().splitlines()
    return first, json.loads(last)


def test_the_floor_child_answers_one_call():
    first, report = _child("floor", base_environment())
    assert first == "answered" and report == {"sandbox_import_ms": 0.0}


def test_a_fresh_instance_child_answers_one_call_for_a_user_served_elsewhere(deployment: Deployment):
    bearer = deployment.serve_a_user_elsewhere()
    first, report = _child("app", deployment.app_environment(BENCH_BEARER=bearer))
    assert first == "answered" and report["sandbox_import_ms"] > 0


def _call(url: str, name: str, arguments: dict, bearer: str | None = None) -> dict:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    answer = httpx.post(f"{url}/mcp", headers=headers, timeout=60, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
    result = answer.json()["result"]
    assert not result.get("isError"), result
    return result["structuredContent"]


def test_the_thin_proxy_sends_query_records_request_and_gets_the_same_rows(deployment: Deployment):
    stats = f"{deployment.dataverse_url}/sandbox-control/stats"
    with deployment.app_server() as app, deployment.thin_proxy() as thin:
        _call(app.url, "query_records", {"table": "account", "select": ["name"], "top": 10}, app.bearer)  # warm
        httpx.delete(stats)
        shaped = _call(app.url, "query_records", {"table": "account", "select": ["name"], "top": 10}, app.bearer)
        app_requests = httpx.get(stats).json()["requests"]
        httpx.delete(stats)
        raw = _call(thin.url, "query_accounts", {})
        thin_requests = httpx.get(stats).json()["requests"]

    assert app_requests == thin_requests == [{"method": "GET", "path": "/api/data/v9.2/accounts", "count": 1}]
    assert [row["name"] for row in shaped["rows"]] == [row["name"] for row in raw["rows"]]


def _rows(met: bool) -> list[Row]:
    return [Row("a figure", "1", "ref", "<= 2", "PASS" if met else "MISS"), Row("no target", "3", "", "-", "-")]


def test_full_runs_are_kept_as_a_history_of_the_last_ten_and_partial_runs_are_not(tmp_path: Path):
    path = tmp_path / "results.json"
    for day in range(1, HISTORY_RUNS + 3):
        write_results({}, _rows(met=day % 2 == 0), full_run=True, path=path, now=datetime(2026, 1, day, tzinfo=UTC))
    document = write_results({"overhead": {}}, _rows(met=True), full_run=False, path=path)

    assert document["targets"] == [{"figure": "a figure", "value": "1", "target": "<= 2", "met": True}]
    history = json.loads(path.read_text())["history"]
    assert len(history) == HISTORY_RUNS
    assert [run["timestamp"][:10] for run in history] == [f"2026-01-{day:02d}" for day in range(3, HISTORY_RUNS + 3)]


def test_the_trend_shows_each_target_across_the_recorded_runs(tmp_path: Path):
    path = tmp_path / "results.json"
    for day, met in ((1, False), (2, True)):
        write_results({}, _rows(met=met), full_run=True, path=path, now=datetime(2026, 1, day, tzinfo=UTC))
    table = trend_markdown(json.loads(path.read_text())["history"])

    assert "| a figure | <= 2 | 1 ✘ | 1 ✔ |" in table
    assert "no target" not in table and "2026-01-01 00:00" in table


async def test_the_tool_list_figure_measures_every_tool_the_app_lists():
    from benchmarks.tool_list import measure_tool_list

    measured = await measure_tool_list()
    assert measured["tools"] >= 16 and measured["bytes"] > 0
    assert measured["tokens_per_tool"] == measured["bytes"] / 4 / measured["tools"]


async def test_the_bulk_figure_confirms_a_hundred_row_update_and_counts_its_requests():
    from benchmarks.bulk import measure_bulk

    measured = await measure_bulk()
    assert measured["rows"] == 100 and measured["batch_requests"] >= 1 and measured["ms_per_row"] > 0
