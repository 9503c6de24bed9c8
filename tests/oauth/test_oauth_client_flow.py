"""The official MCP client (mcp.client.auth.OAuthClientProvider) against the real server over loopback HTTP:
discovery, DCR, PKCE, our consent page, the sandbox Entra sign-in, the callback, a tool call as the signed-in user,
then a refresh that rotates the tokens."""

from __future__ import annotations

import httpx

from dataverse.sandbox.users import ALICE

from .conftest import CLIENT_REDIRECT, Browser
from .official_client import MemoryTokenStorage, call_whoami, official_client


def oauth_provider(server, storage: MemoryTokenStorage, browser: Browser, *, username: str = "alice"):
    return official_client(server, storage, browser, redirect_uri=CLIENT_REDIRECT, username=username)


async def test_official_client_signs_in_calls_a_tool_as_alice_and_refreshes(server):
    storage = MemoryTokenStorage()
    browser = Browser()
    provider = oauth_provider(server, storage, browser)

    assert await call_whoami(server, provider) == f"{ALICE.object_id} {ALICE.upn}"
    first = storage.tokens
    assert first is not None and first.access_token.startswith("dvat_") and first.refresh_token
    assert storage.client_info is not None and storage.client_info.client_id

    # Force a refresh: the stored access token is considered expired by the client.
    provider.context.token_expiry_time = 1.0
    assert await call_whoami(server, provider) == f"{ALICE.object_id} {ALICE.upn}"
    second = storage.tokens
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    await browser.aclose()


async def test_discovery_documents(server):
    async with httpx.AsyncClient() as http:
        unauthenticated = await http.post(server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        path_prm = (await http.get(f"{server.base_url}/.well-known/oauth-protected-resource/mcp")).json()
        root_prm = (await http.get(f"{server.base_url}/.well-known/oauth-protected-resource")).json()
        metadata = (await http.get(f"{server.base_url}/.well-known/oauth-authorization-server")).json()

    assert unauthenticated.status_code == 401
    challenge = unauthenticated.headers["www-authenticate"]
    assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert 'scope="MCP.Access"' in challenge
    for prm in (path_prm, root_prm):
        assert prm["resource"] == server.mcp_url
        assert prm["authorization_servers"] == [server.base_url]
    assert metadata["issuer"] == server.base_url  # no trailing slash: the SDK client compares strictly
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["registration_endpoint"] == f"{server.base_url}/register"
    assert metadata["revocation_endpoint"] == f"{server.base_url}/revoke"
