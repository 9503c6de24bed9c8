"""Signing in through the cluster with the official MCP client (OAuthClientProvider, tests/oauth/official_client.py)
and raw JSON-RPC tools/call POSTs for the races, where many calls must leave at the same moment."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthToken

from tests.oauth.conftest import Browser
from tests.oauth.official_client import MemoryTokenStorage, official_client

from .cluster import Cluster

CLIENT_REDIRECT = "http://localhost:3030/callback"
PROTOCOL_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
_ids = itertools.count(1)


@dataclass
class SignedIn:
    """A user signed in through the cluster: the client's registration and its current tokens."""

    client_id: str
    tokens: OAuthToken

    @property
    def bearer(self) -> str:
        return self.tokens.access_token


async def sign_in_with_official_client(cluster: Cluster, *, username: str = "alice",
                                       tool: str = "whoami") -> tuple[SignedIn, Any]:
    """Discovery, registration, consent, the sandbox Entra sign-in and the code exchange by the SDK's client, then
    one call of `tool` in the same client; returns the session and the tool's result."""
    storage, browser = MemoryTokenStorage(), Browser()
    provider = official_client(cluster, storage, browser, redirect_uri=CLIENT_REDIRECT, username=username)
    try:
        async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
            async with Client(streamable_http_client(cluster.mcp_url, http_client=http)) as client:
                result = await client.call_tool(tool, {})
    finally:
        await browser.aclose()
    assert storage.tokens is not None and storage.client_info is not None
    return SignedIn(client_id=str(storage.client_info.client_id), tokens=storage.tokens), result


async def call_tool(http: httpx.AsyncClient, cluster: Cluster, bearer: str, name: str,
                    arguments: dict[str, Any]) -> httpx.Response:
    """One tools/call POST through the proxy (stateless: no session needed)."""
    body = {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}
    headers = {**PROTOCOL_HEADERS, "Authorization": f"Bearer {bearer}"}
    return await http.post(cluster.mcp_url, json=body, headers=headers)


def tool_result(response: httpx.Response) -> tuple[bool, dict[str, Any] | str]:
    """(is_error, structured result or error text) of a tools/call answer that reached a tool."""
    assert response.status_code == 200, (response.status_code, response.text[:500])
    result = response.json()["result"]
    text = result["content"][0]["text"]
    if result.get("isError"):
        return True, text
    return False, result.get("structuredContent") or json.loads(text)


async def ok(http: httpx.AsyncClient, cluster: Cluster, bearer: str, name: str,
             arguments: dict[str, Any]) -> dict[str, Any]:
    """The structured result of a call that must succeed."""
    is_error, payload = tool_result(await call_tool(http, cluster, bearer, name, arguments))
    assert not is_error and isinstance(payload, dict), payload
    return payload


async def refresh(http: httpx.AsyncClient, cluster: Cluster, signed_in: SignedIn, refresh_token: str) -> httpx.Response:
    return await http.post(f"{cluster.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": signed_in.client_id,
        "resource": cluster.mcp_url,
    })
