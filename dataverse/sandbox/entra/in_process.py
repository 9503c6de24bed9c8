"""An MSAL http_client that reaches the sandbox Entra ASGI app in-process, with no socket.

MSAL is synchronous and `EntraClient` calls it from a worker thread (asyncio.to_thread), so each request runs the
ASGI app on a short-lived event loop of that thread. The sandbox Entra keeps only plain in-memory state, so it is safe
to serve from any loop. Used by sandbox mode and the tests; the loopback client in http_client.py is the
over-the-wire alternative.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.types import ASGIApp

from dataverse.sandbox.entra.context import SANDBOX_ENTRA_MOUNT_PATH
from dataverse.sandbox.entra.http_client import SandboxEntraHttpClient

_IN_PROCESS_BASE = "http://sandbox-entra.in-process"


class InProcessEntraHttpClient(SandboxEntraHttpClient):
    """Routes https://login.microsoftonline.com/... into `entra_app` (the app served at /sandbox/entra)."""

    def __init__(self, entra_app: ASGIApp) -> None:
        super().__init__(base_url=_IN_PROCESS_BASE)
        self.sandbox_url = _IN_PROCESS_BASE  # the app is called directly, not through its mount path
        self._entra_app = entra_app

    def _send(self, method: str, url: str, *, params: Any, data: Any, headers: Any) -> httpx.Response:
        if isinstance(data, dict):
            data = {key: value.decode() if isinstance(value, bytes) else value for key, value in data.items()}
        target = self.route(url)

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._entra_app)
            async with httpx.AsyncClient(transport=transport) as client:
                response = await client.request(method, target, params=params, data=data, headers=headers)
                await response.aread()
                return response

        return asyncio.run(call())


def in_process_entra_client_options(entra_app: ASGIApp, *, public_base_url: str, tenant_id: str, client_id: str,
                                    client_secret: str) -> dict[str, Any]:
    """EntraClient keyword arguments for the in-process sandbox Entra (browsers still go to the public URL)."""
    base = public_base_url.rstrip("/")
    return {
        "tenant_id": tenant_id,
        "client_id": client_id,
        "api_scope": f"api://{client_id}/MCP.Access",
        "client_credential": client_secret,
        "http_client": InProcessEntraHttpClient(entra_app),
        "authorize_endpoint": f"{base}{SANDBOX_ENTRA_MOUNT_PATH}/{tenant_id}/oauth2/v2.0/authorize",
    }
