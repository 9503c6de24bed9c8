"""A JSON-RPC 2.0 envelope check in front of the MCP endpoint.

The SDK answers a body that is JSON but not a JSON-RPC message with -32602 (Invalid params), and treats a request
whose `id` is an object as a notification. JSON-RPC 2.0 (section 5.1) says both are -32600 Invalid Request. This
middleware reads POST bodies to /mcp (up to the size limit; larger ones pass through so the SDK answers 413),
checks only the envelope (jsonrpc, method, id types), and answers -32600 itself; everything else is the SDK's.

The body is parsed with the parser the SDK itself uses (pydantic-core), whose nesting depth is bounded: a deeply
nested body is "not JSON" here and the SDK answers -32700 Parse error (the standard library's recursive parser raised
RecursionError on one, which surfaced as a 500).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INVALID_REQUEST = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}


def _is_valid_message(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return False
    message_id = message.get("id")
    if isinstance(message_id, bool) or not (message_id is None or isinstance(message_id, (str, int))):
        return False
    if "method" in message:
        return isinstance(message["method"], str) and isinstance(message.get("params", {}), (dict, list))
    return "id" in message and ("result" in message or "error" in message)  # a response from the client


def is_valid_envelope(body: Any) -> bool:
    """True for one JSON-RPC message, or a non-empty batch of them."""
    if isinstance(body, list):
        return bool(body) and all(_is_valid_message(item) for item in body)
    return _is_valid_message(body)


class JsonRpcEnvelopeGuard:
    def __init__(self, app: ASGIApp, *, path: str = "/mcp", max_body_bytes: int):
        self._app = app
        self._path = path
        self._max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self._path:
            await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self._max:
                break
        body = b"".join(chunks)
        if size <= self._max and not more:
            try:
                parsed = pydantic_core.from_json(body)
            except ValueError:
                parsed = None  # not JSON (or nested too deeply): the SDK answers -32700 Parse error
            else:
                if not is_valid_envelope(parsed):
                    await _send_json(send, 400, INVALID_REQUEST)
                    return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self._app(scope, replay, send)


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
