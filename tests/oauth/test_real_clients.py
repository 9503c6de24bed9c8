"""Every client in the reference's table signs in as it really does: it registers in one request with its own
defaults (its redirect URIs, scope, application_type, auth method), then the official MCP client's OAuthClientProvider
runs the authorization code flow with that registration (the redirect URI the real client uses at /authorize,
PKCE, our consent page, the sandbox Entra sign-in, `state` and `iss` checked by the SDK), calls a tool as alice, and
refreshes. A client whose CIMD document the server fetches signs in the same way."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp.shared.auth import OAuthClientInformationFull

from dataverse.sandbox.users import ALICE

from .conftest import Browser
from .official_client import MemoryTokenStorage, call_whoami, official_client

AS_ALICE = f"{ALICE.object_id} {ALICE.upn}"
GRANTS = ["authorization_code", "refresh_token"]

# name: (the registration as the client sends it, the redirect URI it then uses at /authorize)
REAL_CLIENTS: dict[str, tuple[dict, str]] = {
    "chatgpt": ({"client_name": "ChatGPT", "redirect_uris": ["https://chatgpt.com/connector/oauth/cb_5fKq2"],
                 "grant_types": GRANTS, "response_types": ["code"], "token_endpoint_auth_method": "none"},
                "https://chatgpt.com/connector/oauth/cb_5fKq2"),
    "chatgpt-legacy": ({"client_name": "ChatGPT",
                        "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
                        "grant_types": GRANTS, "token_endpoint_auth_method": "client_secret_post"},
                       "https://chatgpt.com/connector_platform_oauth_redirect"),
    "claude.ai": ({"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
                   "scope": "claudeai", "grant_types": GRANTS, "response_types": ["code"],
                   "token_endpoint_auth_method": "client_secret_post"},
                  "https://claude.ai/api/mcp/auth_callback"),
    "claude.com": ({"client_name": "Claude", "redirect_uris": ["https://claude.com/api/mcp/auth_callback"],
                    "scope": "MCP.Access offline_access", "grant_types": GRANTS,
                    "token_endpoint_auth_method": "none"},
                   "https://claude.com/api/mcp/auth_callback"),
    "claude-code": ({"client_name": "Claude Code (dataverse)", "redirect_uris": ["http://localhost:51734/callback"],
                     "grant_types": GRANTS, "response_types": ["code"], "token_endpoint_auth_method": "none"},
                    "http://localhost:51734/callback"),
    "vscode": ({"client_name": "Visual Studio Code",
                "redirect_uris": ["https://insiders.vscode.dev/redirect", "https://vscode.dev/redirect",
                                  "http://127.0.0.1/", "http://127.0.0.1:33418/"],
                "grant_types": GRANTS, "token_endpoint_auth_method": "none", "application_type": "native"},
               "http://127.0.0.1:49787/"),  # 33418 was busy: VS Code listens on another port
    "vscode-manual": ({"client_name": "Visual Studio Code",
                       "redirect_uris": ["http://127.0.0.1:33418", "https://vscode.dev/redirect"],
                       "grant_types": GRANTS, "token_endpoint_auth_method": "none"},
                      "http://127.0.0.1:33418"),
    "vscode.dev": ({"client_name": "Visual Studio Code",
                    "redirect_uris": ["https://vscode.dev/redirect", "http://127.0.0.1:33418/"],
                    "grant_types": GRANTS, "token_endpoint_auth_method": "none", "application_type": "web"},
                   "https://vscode.dev/redirect"),
    "cursor": ({"client_name": "Cursor",
                "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback",
                                  "https://www.cursor.com/agents/mcp/oauth/callback", "http://localhost:8787/callback"],
                "grant_types": GRANTS, "response_types": ["code"], "token_endpoint_auth_method": "none"},
               "cursor://anysphere.cursor-mcp/oauth/callback"),
    "mcp-inspector": ({"client_name": "MCP Inspector",
                       "redirect_uris": ["http://localhost:6274/oauth/callback",
                                         "http://localhost:6274/oauth/callback/debug"],
                       "grant_types": GRANTS, "token_endpoint_auth_method": "none"},
                      "http://localhost:6274/oauth/callback"),
    "mcp-remote": ({"client_name": "MCP CLI Proxy", "redirect_uris": ["http://localhost:14283/oauth/callback"],
                    "grant_types": GRANTS, "response_types": ["code"], "token_endpoint_auth_method": "none",
                    "software_id": "2e6dc280-f3c3-4e01-99a7-8181dbd1d23d", "software_version": "0.1.29"},
                   "http://localhost:14283/oauth/callback"),
    "codex": ({"client_name": "Codex", "redirect_uris": ["http://127.0.0.1:1455/callback"], "grant_types": GRANTS,
               "token_endpoint_auth_method": "none", "application_type": "native"},
              "http://127.0.0.1:1455/callback"),
    "ipv6-loopback": ({"client_name": "Desktop tool on ::1", "redirect_uris": ["http://[::1]:5173/callback"],
                       "grant_types": GRANTS, "token_endpoint_auth_method": "none"},
                      "http://[::1]:61234/callback"),
}


async def register_as_sent(base_url: str, registration: dict) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{base_url}/register", content=json.dumps(registration),
                               headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("name", sorted(REAL_CLIENTS))
async def test_each_real_client_registers_signs_in_calls_a_tool_and_refreshes(server, name):
    registration, redirect_uri = REAL_CLIENTS[name]
    registered = await register_as_sent(server.base_url, registration)
    assert registered.status_code == 201, registered.text
    client_info = OAuthClientInformationFull.model_validate({**registered.json(), "issuer": server.base_url})
    assert [str(uri) for uri in client_info.redirect_uris] == [
        str(uri) for uri in OAuthClientInformationFull(client_id="x", redirect_uris=registration["redirect_uris"])
        .redirect_uris
    ]

    storage, browser, landed = MemoryTokenStorage(client_info), Browser(), []
    provider = official_client(server, storage, browser, redirect_uri=redirect_uri, landed=landed)
    assert await call_whoami(server, provider) == AS_ALICE
    assert landed[0]["iss"] == server.base_url
    first = storage.tokens
    assert first.expires_in == server.settings.access_token_ttl_seconds and first.refresh_token
    assert first.scope.split() == ["MCP.Access", "offline_access"]  # what was granted, offline_access included

    provider.context.token_expiry_time = 1.0  # the stored token counts as expired: the SDK refreshes
    assert await call_whoami(server, provider) == AS_ALICE
    assert storage.tokens.refresh_token != first.refresh_token and storage.tokens.expires_in
    await browser.aclose()


async def test_the_registration_records_application_type_as_sent_and_scope_as_granted(server):
    responses = {
        name: (await register_as_sent(server.base_url, REAL_CLIENTS[name][0])).json()
        for name in ("vscode", "vscode.dev", "claude.ai", "claude-code")
    }
    assert responses["vscode"]["application_type"] == "native"
    assert responses["vscode.dev"]["application_type"] == "web"
    assert "application_type" not in responses["claude-code"]  # absent stays absent
    assert responses["claude.ai"]["scope"] == "MCP.Access"  # "claudeai" ignored, our scope granted
    assert responses["claude-code"]["scope"] == "MCP.Access"  # no scope: the server's scope
    assert responses["claude.ai"]["client_secret"] and responses["claude.ai"]["client_secret_expires_at"] == 0
    assert all(response["grant_types"] == GRANTS for response in responses.values())


async def test_a_client_identified_by_its_metadata_document_signs_in(server_with_cimd):
    server, document_url = server_with_cimd
    storage, browser, landed = MemoryTokenStorage(), Browser(), []
    provider = official_client(server, storage, browser, redirect_uri="https://claude.ai/api/mcp/auth_callback",
                               client_metadata_url=document_url, landed=landed)
    assert await call_whoami(server, provider) == AS_ALICE
    assert storage.client_info.client_id == document_url and landed[0]["iss"] == server.base_url
    await browser.aclose()
