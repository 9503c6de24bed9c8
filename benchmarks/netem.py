"""Simulated network latency for the cold-start figure: a reverse proxy on loopback that holds each request for the
latency of the service it goes to (by path prefix) before forwarding it, and counts the requests per service, so that
a cold instance's round trips to Entra, Table Storage and Dataverse are both felt and counted.

    with delaying_proxy("http://127.0.0.1:7000", {"/sandbox/entra": ("entra", 80), "/sandbox/dataverse":
                        ("dataverse", 60)}) as proxy:
        proxy.url, proxy.counts
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import httpx
from starlette.types import Message, Receive, Scope, Send

from dataverse.sandbox.entra.loopback import serve_on_loopback

HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"})


@dataclass
class DelayingProxy:
    """Forwards to `target`; `routes` maps a path prefix to (service name, latency in ms); "" is the default."""

    target: str
    routes: Mapping[str, tuple[str, float]]
    counts: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (service, method, path) in arrival order
    _client: httpx.AsyncClient | None = None

    def reset(self) -> None:
        self.counts.clear()
        self.requests.clear()

    def _route(self, path: str) -> tuple[str, float]:
        prefix = max((p for p in self.routes if path.startswith(p)), key=len, default=None)
        if prefix is None:
            raise LookupError(f"no route for {path}")
        return self.routes[prefix]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._client = httpx.AsyncClient(timeout=60)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert self._client is not None
        chunks: list[bytes] = []
        while True:
            message: Message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        service, latency_ms = self._route(scope["path"])
        self.counts[service] += 1
        self.requests.append((service, scope["method"], scope["path"]))
        await asyncio.sleep(latency_ms / 1000)
        query = scope["query_string"].decode()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in HOP_BY_HOP]
        response = await self._client.request(scope["method"], self.target + scope["path"] + (f"?{query}" if query
                                              else ""), headers=headers, content=b"".join(chunks))
        body = response.content
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.multi_items()
               if k.lower() not in HOP_BY_HOP | {"content-length", "content-encoding"}]
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": body})


@dataclass
class ServedDelayingProxy:
    url: str
    proxy: DelayingProxy


@contextlib.contextmanager
def delaying_proxy(target: str, routes: Mapping[str, tuple[str, float]], *,
                   listener: socket.socket | None = None) -> Iterator[ServedDelayingProxy]:
    """Serve a DelayingProxy in a background thread on `listener` (bound by the caller) or a free loopback port."""
    proxy = DelayingProxy(target=target.rstrip("/"), routes=routes)
    with serve_on_loopback(lambda _url: proxy, listener=listener, lifespan="on", name="netem") as url:
        yield ServedDelayingProxy(url=url, proxy=proxy)
