"""Throughput and memory under load: one uvicorn worker on loopback per server (the full app, the SDK floor), 16
concurrent clients sending a fixed number of tools/call each round, rounds alternating between the two servers.
Reports tools/call per second (median over rounds) and the server process's peak RSS (VmHWM) after the load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.apps import QUERY_ARGUMENTS, mcp_headers, tool_payload, tools_call_body
from benchmarks.measure import median

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 16


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a process, in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


@contextlib.contextmanager
def _server(kind: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.serve", kind, str(port)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        token = json.loads(process.stdout.readline())["token"]
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.05)
        yield process, f"http://127.0.0.1:{port}", token
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _load(base_url: str, body_for: Any, headers: dict[str, str], *, requests: int) -> float:
    """tools/call per second for `requests` calls spread over CONCURRENCY clients (each its own connection)."""
    per_client = requests // CONCURRENCY

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            for _ in range(per_client):
                tool_payload(await client.post("/mcp", content=body_for(), headers=headers))

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(CONCURRENCY)))
    return per_client * CONCURRENCY / (time.perf_counter() - started)


async def measure_throughput(*, rounds: int = 3, requests: int = 1600) -> dict[str, Any]:
    bodies = {
        "app": lambda: tools_call_body("query_records", QUERY_ARGUMENTS),
        "floor": lambda: tools_call_body("constant", {}),
    }
    rates: dict[str, list[float]] = {"app": [], "floor": []}
    peaks: dict[str, int] = {}
    with _server("app") as (app_process, app_url, token), _server("floor") as (floor_process, floor_url, _):
        targets = {
            "app": (app_url, mcp_headers(token), app_process), "floor": (floor_url, mcp_headers(), floor_process),
        }
        for kind, (url, headers, _) in targets.items():  # warm-up: caches, connections, lazy imports
            await _load(url, bodies[kind], headers, requests=CONCURRENCY * 4)
        for _ in range(rounds):
            for kind, (url, headers, _) in targets.items():
                rates[kind].append(await _load(url, bodies[kind], headers, requests=requests))
        for kind, (_, _, process) in targets.items():
            peaks[kind] = peak_rss_kib(process.pid)
    return {
        "concurrency": CONCURRENCY,
        "requests_per_round": requests,
        "rounds": rounds,
        "calls_per_second": {kind: median(values) for kind, values in rates.items()},
        "peak_rss_mib": {kind: kib / 1024 for kind, kib in peaks.items()},
        "throughput_ratio": median(rates["app"]) / median(rates["floor"]),
    }
