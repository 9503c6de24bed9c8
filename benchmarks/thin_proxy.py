"""The thinnest possible proxy, the reference for throughput: a bare MCPServer (mcp SDK) whose one tool makes the
Dataverse request `query_records` makes for the benchmark's query (the same URL and headers, byte for byte) with a
Dataverse token for the same user, over one pooled httpx client, and returns the rows. No OAuth, no bearer check, no
On-Behalf-Of, no shaping: everything the app adds is what the comparison measures.

    THIN_DATAVERSE_URL=<env url> THIN_DATAVERSE_TOKEN=<token> \\
        uvicorn benchmarks.thin_proxy:create_app --factory --workers 2 --port 7500
"""

from __future__ import annotations

import gc
import os
from typing import Any

import httpx
from starlette.types import ASGIApp

QUERY_PATH = "/api/data/v9.2/accounts?$select=name"
QUERY_HEADERS = {  # what DataverseClient sends for query_records(table="account", select=["name"], top=10)
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
    "Prefer": 'odata.include-annotations="*",odata.maxpagesize=10',
}


def create_app() -> ASGIApp:
    """Built as the app is (dataverse.sandbox.serve.instance.create_app): the collector paused, then frozen."""
    gc.disable()
    try:
        return _build()
    finally:
        gc.freeze()
        gc.enable()


def _build() -> ASGIApp:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

    url = os.environ["THIN_DATAVERSE_URL"].rstrip("/") + QUERY_PATH
    headers = {**QUERY_HEADERS, "Authorization": f"Bearer {os.environ['THIN_DATAVERSE_TOKEN']}"}
    http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100, max_keepalive_connections=50,
                                                             keepalive_expiry=60.0))
    server = MCPServer("thin-proxy")

    @server.tool()
    async def query_accounts() -> dict[str, Any]:
        """The first ten accounts' names."""
        response = await http.get(url, headers=headers)
        response.raise_for_status()
        return {"rows": response.json()["value"]}

    return server.streamable_http_app(
        streamable_http_path="/mcp", json_response=True, stateless_http=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1:*"], allowed_origins=["http://127.0.0.1:*"]),
    )
