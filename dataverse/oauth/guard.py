"""Transport guards for the MCP endpoint.

`McpGuardMiddleware` wraps the ASGI app: on the MCP path it refuses an unknown Host (421, DNS rebinding) and a
present-but-unknown Origin (403), and it completes the SDK's 401/403 `WWW-Authenticate` challenge with
`scope="..."` (and `resource_metadata` when missing) so clients know what to ask for.
`transport_security_settings` gives the same allow-lists in the SDK's own form, for `streamable_http_app(...)`.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def allowed_hosts_for(public_base_url: str, extra_hosts: list[str]) -> list[str]:
    """Host header values accepted: the public URL's host (with and without its port) and the extra ones."""
    parts = urlsplit(public_base_url)
    hosts = [parts.netloc.lower()]
    if parts.hostname:
        hosts.append(parts.hostname.lower())
    return list(dict.fromkeys([*hosts, *(host.lower() for host in extra_hosts)]))


def allowed_origins_for(public_base_url: str, extra_origins: list[str]) -> list[str]:
    parts = urlsplit(public_base_url)
    own_origin = f"{parts.scheme}://{parts.netloc}".lower()
    return list(dict.fromkeys([own_origin, *(origin.rstrip("/").lower() for origin in extra_origins)]))


def transport_security_settings(
    *, public_base_url: str, allowed_hosts: list[str], allowed_origins: list[str]
) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed_hosts_for(public_base_url, allowed_hosts),
        allowed_origins=allowed_origins_for(public_base_url, allowed_origins),
    )


class McpGuardMiddleware:
    """Host/Origin checks and a complete bearer challenge on `mcp_path`; other paths pass untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        mcp_path: str,
        allowed_hosts: list[str],
        allowed_origins: list[str],
        scope: str,
        resource_metadata_url: str,
    ) -> None:
        self._app = app
        self._mcp_path = mcp_path.rstrip("/")
        self._hosts = {host.lower() for host in allowed_hosts}
        self._origins = {origin.rstrip("/").lower() for origin in allowed_origins}
        self._scope = scope
        self._resource_metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self._mcp_path:
            await self._app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if headers.get("host", "").lower() not in self._hosts:
            await _reject(send, 421, "invalid_request", "Host not allowed")
            return
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self._origins:
            await _reject(send, 403, "forbidden", "Origin not allowed")
            return
        await self._app(scope, receive, self._completing_challenge(send))

    def _completing_challenge(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (401, 403):
                message = dict(message)
                message["headers"] = [
                    (name, self._complete(value) if name.lower() == b"www-authenticate" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        return wrapped

    def _complete(self, value: bytes) -> bytes:
        text = value.decode("latin-1")
        if not text.lower().startswith("bearer"):
            return value
        extra = []
        if "resource_metadata=" not in text:
            extra.append(f'resource_metadata="{self._resource_metadata_url}"')
        if "scope=" not in text:
            extra.append(f'scope="{self._scope}"')
        if not extra:
            return value
        separator = ", " if text.strip().lower() != "bearer" else " "
        return (text + separator + ", ".join(extra)).encode("latin-1")


async def _reject(send: Send, status: int, error: str, description: str) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
