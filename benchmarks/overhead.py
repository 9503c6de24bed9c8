"""Overhead of one query_records tools/call through the full ASGI stack, against two references measured in the
same loop: the SDK floor (a bare MCPServer tool returning a constant) and the direct DataverseClient query.
With no simulated latency the figure is the added milliseconds; with 50 ms simulated Dataverse latency it is the
ratio to the direct call. Also: the round trips one steady-state call makes (Dataverse, Entra, storage)."""

from __future__ import annotations

import contextlib
from typing import Any

from benchmarks.apps import (
    QUERY_ARGUMENTS,
    create_direct_query,
    create_floor_app,
    create_full_app,
    mcp_headers,
    serving,
    tool_payload,
    tools_call_body,
)
from benchmarks.measure import summarise_rounds, time_interleaved

WARMUP_CALLS = 20


async def _subjects(stack: contextlib.AsyncExitStack, *, latency_ms: float) -> tuple[dict[str, Any], Any]:
    full = create_full_app(latency_ms=latency_ms)
    app_client = await stack.enter_async_context(serving(full.app))
    await full.sign_in(app_client)
    floor_client = await stack.enter_async_context(serving(create_floor_app()))
    app_headers, floor_headers = mcp_headers(full.token), mcp_headers()
    direct = create_direct_query(full)

    async def app_call() -> None:
        response = await app_client.post("/mcp", content=tools_call_body("query_records", QUERY_ARGUMENTS),
                                         headers=app_headers)
        rows = tool_payload(response)["rows"]
        if len(rows) != QUERY_ARGUMENTS["top"]:
            raise RuntimeError(f"query_records returned {len(rows)} rows")

    async def floor_call() -> None:
        body = tools_call_body("wait", {"ms": latency_ms}) if latency_ms else tools_call_body("constant", {})
        tool_payload(await floor_client.post("/mcp", content=body, headers=floor_headers))

    async def direct_call() -> None:
        page = await direct()
        if len(page.rows) != QUERY_ARGUMENTS["top"]:
            raise RuntimeError(f"direct query returned {len(page.rows)} rows")

    return {"app": app_call, "direct": direct_call, "floor": floor_call}, full


async def measure_overhead(*, rounds: int = 7, iterations: int = 150) -> dict[str, Any]:
    """No simulated latency: p50/p95 of app, floor and direct; added ms over the floor and over direct."""
    async with contextlib.AsyncExitStack() as stack:
        subjects, _ = await _subjects(stack, latency_ms=0)
        await time_interleaved(subjects, iterations=WARMUP_CALLS)
        results = [await time_interleaved(subjects, iterations=iterations) for _ in range(rounds)]
    summary = summarise_rounds(results)
    return {
        "rounds": rounds,
        "iterations_per_round": iterations,
        "latency": summary,
        "added_over_floor_p50_ms": summary["app"]["p50_ms"] - summary["floor"]["p50_ms"],
        "added_over_floor_p95_ms": summary["app"]["p95_ms"] - summary["floor"]["p95_ms"],
        "added_over_direct_p50_ms": summary["app"]["p50_ms"] - summary["direct"]["p50_ms"],
        "added_over_direct_p95_ms": summary["app"]["p95_ms"] - summary["direct"]["p95_ms"],
    }


async def measure_latency_ratio(*, latency_ms: float = 50.0, rounds: int = 5, iterations: int = 20) -> dict[str, Any]:
    """With simulated Dataverse latency: app / direct at p50 and p95. The floor here is a bare MCPServer tool that
    sleeps the same latency: what the SDK alone adds around a call of that length."""
    async with contextlib.AsyncExitStack() as stack:
        subjects, _ = await _subjects(stack, latency_ms=latency_ms)
        await time_interleaved(subjects, iterations=3)
        results = [await time_interleaved(subjects, iterations=iterations) for _ in range(rounds)]
    summary = summarise_rounds(results)
    return {
        "simulated_latency_ms": latency_ms,
        "rounds": rounds,
        "iterations_per_round": iterations,
        "latency": summary,
        "ratio_p50": summary["app"]["p50_ms"] / summary["direct"]["p50_ms"],
        "ratio_p95": summary["app"]["p95_ms"] / summary["direct"]["p95_ms"],
        "floor_ratio_p50": summary["floor"]["p50_ms"] / summary["direct"]["p50_ms"],
    }


async def measure_round_trips(*, calls: int = 20) -> dict[str, Any]:
    """Requests one steady-state query_records call makes (after a warm-up call filled the caches)."""
    async with contextlib.AsyncExitStack() as stack:
        subjects, full = await _subjects(stack, latency_ms=0)
        await subjects["app"]()  # cold call: metadata lookups fill the caches
        cold = full.runtime.organization.stats.total
        sign_in_and_cold = {"entra": dict(full.entra_operations), "storage": dict(full.store_operations)}
        full.reset_counts()
        for _ in range(calls):
            await subjects["app"]()
        per_call = {
            "dataverse": full.runtime.organization.stats.total / calls,
            "dataverse_client_side": full.outbound.get("dataverse", 0) / calls,
            "entra": sum(full.entra_operations.values()) / calls,
            "storage": sum(full.store_operations.values()) / calls,
        }
        operations = {"entra": dict(full.entra_operations), "storage": dict(full.store_operations)}
    return {
        "calls": calls,
        "first_call_dataverse_requests": cold,
        "per_call": per_call,
        "operations": operations,
        "sign_in_and_first_call_operations": sign_in_and_cold,  # shows the counters do see Entra and storage
        "entra_note": "EntraClient calls (OBO, refresh), counted on AppDeps.entra",
        "storage_note": "store operations, counted on AppDeps.store",
    }
