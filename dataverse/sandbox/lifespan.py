"""Run an ASGI app's lifespan protocol in-process, as a server would: startup before a block, shutdown after. For
the tests and benchmarks that drive the app through httpx.ASGITransport (which does not run the lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


@contextlib.asynccontextmanager
async def run_lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan protocol: startup before the block, shutdown after."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()
    failures: list[str] = []

    async def receive() -> dict[str, str]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].endswith(".failed"):
            failures.append(message.get("message", ""))
        (started if message["type"].startswith("lifespan.startup") else stopped).set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    if failures:
        raise RuntimeError(f"app startup failed: {failures[0]}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task
