"""A connector's whole journey against the real app served over loopback HTTP in sandbox mode: the official MCP client
(`OAuthClientProvider`) discovers, registers, runs PKCE through our consent page and the sandbox Entra sign-in, calls
the read tools as the signed-in user, refreshes, and calls again. Answers are checked against the sandbox's own data
and row security, not against the tool's own output."""

from __future__ import annotations

import calendar
import contextlib
import json
from collections.abc import Iterator

import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from dataverse.sandbox.dataverse.security import SecuredDataset, caller_for
from dataverse.sandbox.runtime import SandboxRuntime
from dataverse.sandbox.users import ALICE, BOB, CAROL, SandboxUser
from tests.oauth.conftest import Browser
from tests.oauth.test_oauth_client_flow import MemoryTokenStorage, oauth_provider
from tests.served_sandbox import SandboxServer, sandbox_server

CLOSING_THIS_MONTH = (
    "statecode eq 0 and Microsoft.Dynamics.CRM.ThisMonth(PropertyName='estimatedclosedate') and "
    "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')"
)


@pytest.fixture
def live() -> Iterator[SandboxServer]:
    with sandbox_server() as running:
        yield running


def connector(live: SandboxServer, user: SandboxUser, storage: MemoryTokenStorage, browser: Browser):
    """An official SDK OAuth client whose 'browser' approves consent and signs in as `user`."""
    return oauth_provider(live, storage, browser, username=user.username)


@contextlib.asynccontextmanager
async def mcp_session(live: SandboxServer, provider: OAuthClientProvider):
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with Client(streamable_http_client(live.mcp_url, http_client=http)) as client:
            yield client


def structured(result) -> dict:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def expected_closing_this_month(runtime: SandboxRuntime, user: SandboxUser) -> set[str]:
    """The oracle: the user's own open opportunities closing in the sandbox's current month."""
    org = runtime.organization
    today = org.now().astimezone(org.timezone_of(user.systemuser_id)).date()
    first, last = today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1])
    rows = SecuredDataset(org, caller_for(org, user.systemuser_id)).rows("opportunity")
    return {
        row["opportunityid"] for row in rows
        if row["statecode"] == 0 and row["ownerid"].id == user.systemuser_id
        and row.get("estimatedclosedate") and first <= row["estimatedclosedate"] <= last
    }


async def closing_this_month(client: Client) -> set[str]:
    page = structured(await client.call_tool("query_records", {
        "table": "opportunity", "filter": CLOSING_THIS_MONTH, "select": ["name", "estimatedclosedate"], "top": 500,
    }))
    assert not page.get("more")
    return {row["opportunityid"] for row in page["rows"]}


async def test_alice_signs_in_with_the_official_client_and_gets_exactly_her_deals_closing_this_month(live):
    storage, browser = MemoryTokenStorage(), Browser()
    provider = connector(live, ALICE, storage, browser)
    try:
        async with mcp_session(live, provider) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"whoami", "query_records", "fetchxml_query", "describe_table"} <= tools
            me = structured(await client.call_tool("whoami", {}))
            mine = await closing_this_month(client)
        assert me["user_id"] == ALICE.systemuser_id and me["name"] == ALICE.full_name
        expected = expected_closing_this_month(live.runtime, ALICE)
        assert expected and mine == expected

        # The access token is treated as expired: the client refreshes (rotating both tokens) and carries on.
        first = storage.tokens
        provider.context.token_expiry_time = 1.0
        async with mcp_session(live, provider) as client:
            assert await closing_this_month(client) == expected
        assert storage.tokens.access_token != first.access_token
        assert storage.tokens.refresh_token != first.refresh_token
    finally:
        await browser.aclose()


async def test_bob_cannot_see_alices_opportunities_and_carol_sees_every_one(live):
    alice_ids = {
        row["opportunityid"] for row in live.runtime.organization.all_rows("opportunity")
        if row["ownerid"].id == ALICE.systemuser_id
    }
    seen: dict[str, set[str]] = {}
    for user in (BOB, CAROL):
        browser = Browser()
        try:
            async with mcp_session(live, connector(live, user, MemoryTokenStorage(), browser)) as client:
                page = structured(await client.call_tool("query_records", {
                    "table": "opportunity", "filter": f"_ownerid_value eq {ALICE.systemuser_id}", "top": 500,
                }))
                seen[user.username] = {row["opportunityid"] for row in page["rows"]}
                missing = await client.call_tool("get_record", {"table": "opportunity", "id": sorted(alice_ids)[0]})
                if user is BOB:
                    assert missing.is_error and "cannot see it" in missing.content[0].text
        finally:
            await browser.aclose()
    assert seen["bob"] == set()
    assert seen["carol"] == alice_ids


async def test_mcp_endpoint_refuses_get_unauthenticated_calls_and_foreign_hosts(live):
    async with httpx2.AsyncClient(timeout=10) as http:
        get = await http.get(live.mcp_url)
        anonymous = await http.post(live.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                    headers={"Accept": "application/json, text/event-stream"})
        rebinding = await http.post(live.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                    headers={"Host": "attacker.example", "Accept": "application/json"})
        health = await http.get(f"{live.base_url}/health")
    assert get.status_code == 405
    assert anonymous.status_code == 401 and "resource_metadata=" in anonymous.headers["www-authenticate"]
    assert rebinding.status_code == 421
    assert health.status_code == 200 and health.json()["status"] == "ok"
