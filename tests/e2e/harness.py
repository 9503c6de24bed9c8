"""Shared harness for end-to-end tests of the FULL app in sandbox mode, in-process (no sockets): the app from
`create_sandbox_runtime(...).build_app()` with its lifespan running, real bearer tokens from the app's own OAuth flow
(`runtime.sign_in`), and the official MCP client (`ClientSession` over `streamable_http_client` with an httpx2
ASGITransport client). Oracles read the sandbox organisation directly through its own row security.

    async with running_app(table_denylist=["lead"]) as e2e:
        bearer = await e2e.sign_in(ALICE)
        async with e2e.session(bearer) as session:
            result = payload(await session.call_tool("query_records", {"table": "account"}))
        expected = readable(e2e.organization, ALICE, "account")
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from dataverse.sandbox.dataverse.organization import SandboxOrganization
from dataverse.sandbox.dataverse.security import SecuredDataset, caller_for
from dataverse.sandbox.lifespan import run_lifespan as lifespan
from dataverse.sandbox.runtime import SandboxRuntime, create_sandbox_runtime
from dataverse.sandbox.users import SandboxUser
from dataverse.settings import Settings

BASE_URL = "http://127.0.0.1:7071"
TODAY = date(2026, 3, 12)


@dataclass
class E2E:
    runtime: SandboxRuntime
    app: Any

    @property
    def organization(self) -> SandboxOrganization:
        return self.runtime.organization

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def http(self) -> httpx.AsyncClient:
        """A plain httpx client into the app (for OAuth endpoints and raw HTTP checks)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL, timeout=30)

    async def sign_in(self, user: SandboxUser) -> str:
        """A real access token for `user` from the app's OAuth flow."""
        return await self.runtime.sign_in(self.app, user)

    @contextlib.asynccontextmanager
    async def session(self, bearer: str | None) -> AsyncIterator[ClientSession]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.app), headers=headers,
                                    base_url=BASE_URL, timeout=30)
        async with client, streamable_http_client(f"{BASE_URL}/mcp", http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                yield session


@contextlib.asynccontextmanager
async def running_app(*, today: date = TODAY, **settings: Any) -> AsyncIterator[E2E]:
    """The full sandbox-mode app for `Settings(public_base_url=BASE_URL, **settings)`, lifespan running."""
    runtime = create_sandbox_runtime(Settings(public_base_url=BASE_URL, **settings), today=today)
    app = runtime.build_app()
    async with lifespan(app):
        yield E2E(runtime=runtime, app=app)


def readable(organization: SandboxOrganization, user: SandboxUser, table: str) -> list[dict[str, Any]]:
    """The rows `user` may read, from the sandbox's own security model (the oracle)."""
    return SecuredDataset(organization, caller_for(organization, user.systemuser_id)).rows(table)


def payload(result: Any) -> dict[str, Any]:
    """The structured result of a successful tool call (and a check that the text mirrors it)."""
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def text_json(result: Any) -> Any:
    """The JSON in a successful tool call's single text content item."""
    assert not result.is_error, result.content[0].text
    assert len(result.content) == 1 and result.content[0].type == "text"
    return json.loads(result.content[0].text)


def error_text(result: Any) -> str:
    assert result.is_error, result.content[0].text if result.content else result
    return result.content[0].text
