"""End-to-end harness for the tools: the sandbox Dataverse in-process behind the real Dataverse client, our MCP
server's streamable HTTP app (stateless, JSON responses, bearer auth), and the official MCP client talking to it
over HTTP (httpx2 ASGI transport, no sockets). Bearers are sandbox JWTs; the test verifier maps one to an AccessToken
whose subject is the user's oid, and the Dataverse token source hands the same JWT to the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import httpx2
import jwt
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings

from dataverse.sandbox.identity import mint_user_token, process_signing_key
from dataverse.sandbox.users import SandboxUser
from dataverse.settings import Settings
from dataverse.tools import build_mcp_server
from dataverse.tools.kit.context import ToolDeps
from dataverse.webapi.client import create_http_client
from dataverse.webapi.retry import RetryPolicy

SANDBOX_URL = "https://sandbox.crm.example.com"
MCP_BASE = "https://mcp.example.com"
ISSUER = "https://login.sandbox.example/tenant/v2.0"
TODAY = date(2026, 3, 12)


class SandboxJwtVerifier:
    """Maps a sandbox JWT for the sandbox Dataverse audience to an AccessToken (subject = Entra oid)."""

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = process_signing_key().verify(token, audience=SANDBOX_URL)
        except jwt.InvalidTokenError:
            return None
        return AccessToken(
            token=token, client_id=str(claims.get("azp", "")), scopes=str(claims.get("scp", "")).split(),
            expires_at=int(claims["exp"]), subject=str(claims["oid"]),
            claims={key: claims.get(key) for key in ("upn", "name", "tid")} | {"grant_id": "test"},
        )


def user_token(user: SandboxUser) -> str:
    return mint_user_token(user, audience=SANDBOX_URL, issuer=ISSUER, scopes=["user_impersonation"],
                           client_id="test-client")


@dataclass
class Harness:
    organization: Any
    settings: Settings
    mcp_app: Any
    mcp_server: Any
    sandbox_http: httpx.AsyncClient  # straight to the sandbox Dataverse, for "what should the answer be"

    @contextlib.asynccontextmanager
    async def session(self, user: SandboxUser | None, *, bearer: str | None = None) -> AsyncIterator[ClientSession]:
        headers = {"Authorization": f"Bearer {bearer or user_token(user)}"} if (user or bearer) else {}
        client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.mcp_app), headers=headers,
                                    base_url=MCP_BASE, timeout=30)
        async with client, streamable_http_client(f"{MCP_BASE}/mcp", http_client=client) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session

    async def direct_query(self, user: SandboxUser, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Rows straight from the sandbox Web API as `user` (all pages), bypassing the tools."""
        response = await self.sandbox_http.get(f"{SANDBOX_URL}/api/data/v9.2/{path}", params=params,
                                               headers={"Authorization": f"Bearer {user_token(user)}"})
        response.raise_for_status()
        body = response.json()
        rows = list(body["value"])
        while body.get("@odata.nextLink"):
            response = await self.sandbox_http.get(body["@odata.nextLink"],
                                                   headers={"Authorization": f"Bearer {user_token(user)}"})
            body = response.json()
            rows.extend(body["value"])
        return rows


def payload(result: Any) -> dict[str, Any]:
    """The structured result of a successful tool call (and a check that the text mirrors it)."""
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


def build_harness(*, settings_update: dict[str, Any] | None = None, retry: RetryPolicy | None = None,
                  token_for: Callable[[AccessToken, str], Any] | None = None) -> Harness:
    from dataverse.sandbox.dataverse import app as sandbox_app_module
    from dataverse.sandbox.dataverse.organization import create_sandbox_organization

    organization = create_sandbox_organization(today=TODAY)
    dataverse_app = sandbox_app_module.create_sandbox_dataverse_app(
        organization=organization, base_url=SANDBOX_URL,
        verify_token=sandbox_app_module.sandbox_token_verifier(SANDBOX_URL),
    )
    http = create_http_client(transport=httpx.ASGITransport(app=dataverse_app))
    settings = Settings(**({"public_base_url": MCP_BASE, "dataverse_urls": [SANDBOX_URL]} | (settings_update or {})))

    async def passthrough(access_token: AccessToken, environment: str) -> str:
        return access_token.token

    deps = ToolDeps(settings=settings, http=http, dataverse_token=token_for or passthrough, retry=retry)
    server = build_mcp_server(
        deps,
        auth=AuthSettings(issuer_url=MCP_BASE, resource_server_url=f"{MCP_BASE}/mcp", validate_token_resource=False),
        token_verifier=SandboxJwtVerifier(),
    )
    app = server.streamable_http_app(
        json_response=True, stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                                     allowed_hosts=["mcp.example.com"],
                                                     allowed_origins=[MCP_BASE]),
    )
    return Harness(organization=organization, settings=settings, mcp_app=app, mcp_server=server,
                   sandbox_http=create_http_client(transport=httpx.ASGITransport(app=dataverse_app)))


@contextlib.asynccontextmanager
async def running(built: Harness) -> AsyncIterator[Harness]:
    """Run the MCP session manager in a task of its own, so the fixture may stop it from another task."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with built.mcp_server.session_manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    await started.wait()
    try:
        yield built
    finally:
        stop.set()
        await task


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running(build_harness()) as built:
        yield built
