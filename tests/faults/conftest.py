"""Harness for the fault suite: the real tools (MCPServer, stateless JSON streamable HTTP, bearer auth) over the real
Dataverse client and the in-process sandbox Dataverse with its fault injection. The pooled client's transport records
every request that reaches the sandbox (method and full URL), so tests can check what was sent, not just what came
back. Retries sleep through a recorder, so a Retry-After of 1 s costs no wall time and the waits can be asserted."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import jwt
import pytest
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.identity import mint_user_token, process_signing_key
from dataverse.sandbox.users import ALICE, SandboxUser
from dataverse.settings import Settings
from dataverse.tools import build_mcp_server
from dataverse.tools.kit.context import ToolDeps
from dataverse.webapi.client import create_http_client
from dataverse.webapi.retry import RetryPolicy

SANDBOX_URL = "https://faults.crm.example.com"
MCP_BASE = "https://mcp.example.com"
TODAY = date(2026, 3, 12)
_ids = itertools.count(1)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to `inner` and keeps (method, URL) of each, as the sandbox receives them."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, httpx.URL]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url))
        return await self.inner.handle_async_request(request)


@dataclass
class SleepRecorder:
    """Stands in for asyncio.sleep in RetryPolicy: records each wait and yields once."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


class SandboxJwtVerifier:
    """/mcp bearer check for the harness: a sandbox JWT for the sandbox Dataverse audience."""

    def __init__(self, audience: str) -> None:
        self.audience = audience

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = process_signing_key().verify(token, audience=self.audience)
        except jwt.InvalidTokenError:
            return None
        return AccessToken(token=token, client_id=str(claims.get("azp", "")), scopes=str(claims.get("scp", "")).split(),
                           expires_at=int(claims["exp"]), subject=str(claims["oid"]), claims={"grant_id": "faults"})


def user_token(user: SandboxUser = ALICE, *, audience: str = SANDBOX_URL) -> str:
    return mint_user_token(user, audience=audience, issuer="https://login.sandbox.example/t/v2.0",
                           scopes=["user_impersonation"], client_id="faults")


def retry_policy(sleeper: SleepRecorder, **overrides: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeper, jitter=lambda: 0.0, **overrides)


@dataclass
class ToolHarness:
    organization: SandboxOrganization
    recorder: RecordingTransport
    sleeper: SleepRecorder
    mcp_app: Any
    mcp_server: Any
    http: httpx.AsyncClient  # the pooled Dataverse client the tools use
    environment_url: str

    async def call(self, tool: str, arguments: dict[str, Any], *, user: SandboxUser = ALICE) -> dict[str, Any]:
        """One raw JSON-RPC tools/call POST; returns the JSON-RPC `result` (which may be a tool error)."""
        body = {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.mcp_app), base_url=MCP_BASE) as client:
            response = await client.post("/mcp", json=body, headers={
                "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18",
                "Authorization": f"Bearer {user_token(user, audience=self.environment_url)}"})
        assert response.status_code == 200, response.text
        message = response.json()
        assert "error" not in message, message
        return message["result"]


def tool_text(result: dict[str, Any]) -> str:
    return result["content"][0]["text"]


def rows_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert result["isError"] is False, tool_text(result)
    return json.loads(tool_text(result))["rows"]


def build_tool_harness(*, retry: dict[str, Any] | None = None, transport: httpx.AsyncBaseTransport | None = None,
                       organization: SandboxOrganization | None = None, environment_url: str = SANDBOX_URL,
                       timeout: float = 30.0) -> ToolHarness:
    organization = organization or create_sandbox_organization(today=TODAY)
    if transport is None:
        transport = httpx.ASGITransport(app=create_sandbox_dataverse_app(
            organization=organization, base_url=environment_url, verify_token=sandbox_token_verifier(environment_url)))
    recorder = RecordingTransport(transport)
    sleeper = SleepRecorder()
    http = create_http_client(transport=recorder, timeout=timeout)
    settings = Settings(public_base_url=MCP_BASE, dataverse_urls=[environment_url])

    async def passthrough(access_token: AccessToken, environment: str) -> str:
        return access_token.token

    deps = ToolDeps(settings=settings, http=http, dataverse_token=passthrough,
                    retry=retry_policy(sleeper, **(retry or {})))
    server = build_mcp_server(
        deps, auth=AuthSettings(issuer_url=MCP_BASE, resource_server_url=f"{MCP_BASE}/mcp",
                                validate_token_resource=False),
        token_verifier=SandboxJwtVerifier(environment_url))
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=["mcp.example.com"], allowed_origins=[MCP_BASE])
    app = server.streamable_http_app(json_response=True, stateless_http=True, transport_security=security)
    return ToolHarness(organization=organization, recorder=recorder, sleeper=sleeper, mcp_app=app, mcp_server=server,
                       http=http, environment_url=environment_url)


@contextlib.asynccontextmanager
async def running(harness: ToolHarness) -> AsyncIterator[ToolHarness]:
    """Run the MCP session manager for the harness, in a task of its own (fixture setup and teardown may differ)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with harness.mcp_server.session_manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    await started.wait()
    try:
        yield harness
    finally:
        stop.set()
        await task
        await harness.http.aclose()


@pytest.fixture
async def tools() -> AsyncIterator[ToolHarness]:
    async with running(build_tool_harness()) as harness:
        yield harness
