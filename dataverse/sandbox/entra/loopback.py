"""Serve an ASGI app on 127.0.0.1 (an OS-chosen port) in a background thread, for tests, benchmarks and demos that need
real HTTP: MSAL speaks blocking HTTP, so the sandbox Entra must be a real server for it to reach.

    with serve_on_loopback(lambda base_url: build_app(base_url)) as base_url:
        ...   # base_url is "http://127.0.0.1:<port>"

Bind the socket first with `bind_loopback()` when the port must be known before the app is (two proxies that point at
each other, a cluster that names its front door).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal


def bind_loopback() -> socket.socket:
    """A socket bound to a free loopback port, so the port is known before anything is served on it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets TCP_NODELAY
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    return listener


@contextlib.contextmanager
def serve_on_loopback(build_app: Callable[[str], Any], *, listener: socket.socket | None = None,
                      lifespan: Literal["on", "off"] = "off", name: str = "loopback-http",
                      startup_timeout_seconds: float = 10.0) -> Iterator[str]:
    """Build the app for the loopback base URL and serve it on `listener` (or a fresh port) until the block exits."""
    import uvicorn  # a development dependency: only tests, benchmarks and the local demo serve this way

    listener = listener or bind_loopback()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = uvicorn.Config(build_app(base_url), log_level="warning", access_log=False, lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + startup_timeout_seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            listener.close()
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.005)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout_seconds)
        listener.close()
