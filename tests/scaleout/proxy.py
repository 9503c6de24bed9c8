"""A round-robin reverse proxy on loopback, standing in for the load balancer in front of the app's instances.

Each request goes to the next instance in turn, with its Host header as sent (so every instance sees its public URL)
and the caller's address appended to X-Forwarded-For, as Azure's front end does. A backend that refuses the
connection is taken out of the rotation (the request, never sent, goes to the next one), as a health probe would; a
backend that fails after the request was sent is taken out too, and that request answers 502, not retried, since it
may have been applied. `log` records who served what, so tests can see a flow cross instances.

    with serving_proxy(["http://127.0.0.1:8001", "http://127.0.0.1:8002"]) as proxy:
        httpx.get(proxy.url + "/health")
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from starlette.types import Message, Receive, Scope, Send

from dataverse.sandbox.entra.loopback import serve_on_loopback

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade"})


@dataclass(frozen=True)
class Routed:
    """One request the proxy handled: which backend served it (None: none could) and the status the caller got."""

    method: str
    path: str
    backend: int | None
    status: int


@dataclass
class RoundRobinProxy:
    """The ASGI proxy. `down` holds the backends taken out of the rotation; `mark_up` puts one back."""

    backends: list[str]
    log: list[Routed] = field(default_factory=list)
    down: set[int] = field(default_factory=set)
    _turns: Iterator[int] = field(default_factory=itertools.count)
    _client: httpx.AsyncClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mark_up(self, backend: int) -> None:
        with self._lock:
            self.down.discard(backend)

    def served_by(self, *, since: int = 0, path_prefix: str = "") -> list[int | None]:
        """The backend of each logged request from entry `since` on whose path starts with `path_prefix`."""
        return [entry.backend for entry in self.log[since:] if entry.path.startswith(path_prefix)]

    def _next_backend(self, tried: set[int]) -> int | None:
        with self._lock:
            for _ in range(len(self.backends)):
                index = next(self._turns) % len(self.backends)
                if index not in self.down and index not in tried:
                    return index
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self._client is not None, "the proxy serves only once its lifespan started"
        body = await _read_body(receive)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
                   if name.decode("latin-1").lower() not in HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append(("x-forwarded-for", str(client[0])))
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        tried: set[int] = set()
        while (backend := self._next_backend(tried)) is not None:
            tried.add(backend)
            request = self._client.build_request(scope["method"], self.backends[backend] + target, headers=headers,
                                                 content=body)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.ConnectError:  # nothing was sent: the instance is gone; take it out and try the next
                with self._lock:
                    self.down.add(backend)
                continue
            except httpx.TransportError:  # sent, then the instance failed: out of the rotation, and no retry
                with self._lock:
                    self.down.add(backend)
                await self._answer(send, scope, backend, 502)
                return
            try:
                await self._relay(send, scope, backend, response)
            finally:
                await response.aclose()
            return
        await self._answer(send, scope, None, 503)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _relay(self, send: Send, scope: Scope, backend: int, response: httpx.Response) -> None:
        try:
            content = b"".join([chunk async for chunk in response.aiter_raw()])
        except httpx.TransportError:  # the instance died while answering: the request may have been applied
            with self._lock:
                self.down.add(backend)
            await self._answer(send, scope, backend, 502)
            return
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.multi_items()
                   if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"]
        headers.append((b"content-length", str(len(content)).encode()))
        self.log.append(Routed(scope["method"], scope["path"], backend, response.status_code))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _answer(self, send: Send, scope: Scope, backend: int | None, status: int) -> None:
        self.log.append(Routed(scope["method"], scope["path"], backend, status))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)




@dataclass
class ServedProxy:
    url: str
    proxy: RoundRobinProxy


@contextlib.contextmanager
def serving_proxy(backends: list[str], *, listener: socket.socket | None = None) -> Iterator[ServedProxy]:
    """Serve a RoundRobinProxy over `backends` on loopback (on `listener` when given, else a free port)."""
    proxy = RoundRobinProxy(backends=list(backends))
    with serve_on_loopback(lambda _url: proxy, listener=listener, lifespan="on", name="round-robin") as url:
        yield ServedProxy(url=url, proxy=proxy)
