"""A body limit on every POST route, checked before any handler reads the body.

Each OAuth route gets the size its largest honest request needs (a registration is a few KB; a token or consent form
a few hundred bytes), every other POST path DEFAULT_MAX_BODY_BYTES. A larger body answers 413 as soon as its
Content-Length says so, or as soon as that many bytes have arrived when it is sent chunked; nothing is kept. The
rest of the body is read and dropped (up to MAX_DRAINED_BYTES) before the answer, so the client, still sending, reads
the 413 instead of a reset connection. Paths mapped to None have their own limit further in (/mcp: the SDK's and
jsonrpc_guard's, 1 MB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 64 * 1024
MAX_DRAINED_BYTES = 4 * 1024 * 1024


async def _drain(receive: Receive, more_body: bool) -> None:
    drained = 0
    while more_body and drained <= MAX_DRAINED_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        more_body = message.get("more_body", False)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": "invalid_request",
                       "error_description": f"The request body is larger than {limit} bytes."}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for POST bodies over the limit of their path."""

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, int | None],
                 default_limit: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self._app = app
        self._limits = dict(limits)
        self._default = default_limit

    def _limit_for(self, path: str) -> int | None:
        return self._limits.get(path.rstrip("/") or "/", self._default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit_for(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if limit is None:
            await self._app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _drain(receive, more_body=True)
            await _too_large(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self._app(scope, _replaying([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _drain(receive, message.get("more_body", False))
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self._app(scope, _replaying([b"".join(chunks)], None, receive), send)


def _replaying(bodies: list[bytes], trailing: Message | None, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False} for body in bodies]
    if trailing is not None:
        pending.append(trailing)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
