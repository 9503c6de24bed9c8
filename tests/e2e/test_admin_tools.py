"""list_environments and sign_out end to end through the full sandbox-mode app: sign_out ends the caller's grant, so
their bearer gets 401 at /mcp and their refresh token is refused, while another user's sign-in keeps working."""

from __future__ import annotations

import httpx

from dataverse.sandbox.signin import sign_in
from dataverse.sandbox.users import ALICE, BOB
from tests.e2e.harness import BASE_URL, payload, running_app

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def sign_in_with_client_id(e2e, user) -> tuple[dict, str]:
    """The full token response and the client id the sign-in registered (needed to refresh)."""
    registered: list[str] = []

    async def remember_registration(response: httpx.Response) -> None:
        if response.request.url.path == "/register":
            await response.aread()
            registered.append(response.json()["client_id"])

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=e2e.app), base_url=BASE_URL, timeout=30,
                                 event_hooks={"response": [remember_registration]}) as client:
        token = await sign_in(e2e.app, base_url=BASE_URL, user=user, client=client)
    return token, registered[0]


async def test_list_environments_shows_the_configured_environment_as_default():
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            listed = payload(await session.call_tool("list_environments", {}))
    assert listed == {"environments": [{"url": e2e.settings.dataverse_urls[0], "default": True}]}
    assert tools["list_environments"].annotations.read_only_hint is True
    assert tools["sign_out"].annotations.read_only_hint is False


async def test_sign_out_revokes_the_callers_bearer_and_refresh_token_only():
    async with running_app() as e2e:
        alice, client_id = await sign_in_with_client_id(e2e, ALICE)
        bob = await e2e.sign_in(BOB)
        async with e2e.session(alice["access_token"]) as session:
            assert payload(await session.call_tool("whoami", {}))["name"] == ALICE.full_name
            signed_out = payload(await session.call_tool("sign_out", {}))
        async with e2e.http() as http:
            after = await http.post("/mcp", json=INITIALIZE,
                                    headers=MCP_HEADERS | {"Authorization": f"Bearer {alice['access_token']}"})
            refresh = await http.post("/token", data={
                "grant_type": "refresh_token", "refresh_token": alice["refresh_token"], "client_id": client_id,
                "resource": f"{BASE_URL}/mcp"})
            still_bob = await http.post("/mcp", json=INITIALIZE,
                                        headers=MCP_HEADERS | {"Authorization": f"Bearer {bob}"})
    assert signed_out["signed_out"] is True
    assert after.status_code == 401
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert still_bob.status_code == 200


async def test_a_refresh_token_works_when_nobody_signed_out():
    """The control for the test above: the same refresh request succeeds without sign_out."""
    async with running_app() as e2e:
        alice, client_id = await sign_in_with_client_id(e2e, ALICE)
        async with e2e.http() as http:
            refresh = await http.post("/token", data={
                "grant_type": "refresh_token", "refresh_token": alice["refresh_token"], "client_id": client_id,
                "resource": f"{BASE_URL}/mcp"})
    assert refresh.status_code == 200 and refresh.json()["access_token"]
