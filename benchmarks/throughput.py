"""Throughput and memory under load, each server in its own processes and the sandbox in another: the app (uvicorn,
1, 2 and 4 workers, Table Storage on Azurite, Entra and Dataverse the sandbox server over loopback) against the thin
proxy (benchmarks/thin_proxy.py: a bare MCPServer tool making the same Dataverse request with a token for the same
user) on the same sandbox server, with the same workers. 16 concurrent clients send a fixed number of tools/call
each round, rounds alternating between the two. Reports tools/call per second (median over rounds), their ratio, and
each server's peak RSS (VmHWM) after the load: per worker and in all (workers and supervisor). Also each server's
CPU time per call (its processes' user + system time over a round): with one sandbox server serving both, the rate
can be bound by the sandbox, while the CPU per call is what the server itself spends.
Needs Azurite (`make azurite`; found as the tests find it: AZURITE_TABLE_BIN or .tools/)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks.apps import QUERY_ARGUMENTS, mcp_headers, tool_payload, tools_call_body
from benchmarks.measure import median
from benchmarks.processes import Deployment, Served, cpu_seconds, server_memory

CONCURRENCY = 16
WORKERS = (1, 2, 4)


async def _load(server: Served, body_for: Callable[[], bytes], *, requests: int) -> tuple[float, float]:
    """tools/call per second for `requests` calls spread over CONCURRENCY clients (each its own connection), and the
    server's CPU milliseconds per call."""
    per_client = requests // CONCURRENCY
    headers = mcp_headers(server.bearer or None)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            for _ in range(per_client):
                tool_payload(await client.post("/mcp", content=body_for(), headers=headers))

    cpu_before, started = cpu_seconds(server.process.pid), time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(CONCURRENCY)))
    elapsed, calls = time.perf_counter() - started, per_client * CONCURRENCY
    return calls / elapsed, (cpu_seconds(server.process.pid) - cpu_before) * 1000 / calls


async def _compare(deployment: Deployment, workers: int, *, rounds: int, requests: int) -> dict[str, Any]:
    bodies = {"app": lambda: tools_call_body("query_records", QUERY_ARGUMENTS),
              "thin": lambda: tools_call_body("query_accounts", {})}
    rates: dict[str, list[float]] = {"app": [], "thin": []}
    cpu: dict[str, list[float]] = {"app": [], "thin": []}
    with deployment.app_server(workers=workers) as app, deployment.thin_proxy(workers=workers) as thin:
        servers = {"app": app, "thin": thin}
        for kind, server in servers.items():  # warm-up: every worker's caches, connections and lazy imports
            await _load(server, bodies[kind], requests=CONCURRENCY * 8 * workers)
        for _ in range(rounds):
            for kind, server in servers.items():
                rate, cpu_ms = await _load(server, bodies[kind], requests=requests)
                rates[kind].append(rate)
                cpu[kind].append(cpu_ms)
        memory = {kind: server_memory(server.process.pid) for kind, server in servers.items()}
    return {
        "workers": workers,
        "calls_per_second": {kind: median(values) for kind, values in rates.items()},
        "ratio": median(rates["app"]) / median(rates["thin"]),
        "server_cpu_ms_per_call": {kind: median(values) for kind, values in cpu.items()},
        "peak_rss_mib": {kind: {"per_worker_max": max(m.per_worker_mib), "total": m.total_mib}
                         for kind, m in memory.items()},
    }


async def measure_throughput(*, rounds: int = 3, requests: int = 1200) -> dict[str, Any]:
    with Deployment.start() as deployment:
        by_workers = [await _compare(deployment, workers, rounds=rounds, requests=requests) for workers in WORKERS]
    return {
        "concurrency": CONCURRENCY,
        "requests_per_round": requests,
        "rounds": rounds,
        "by_workers": by_workers,
        "throughput_ratio": min(entry["ratio"] for entry in by_workers),
    }
