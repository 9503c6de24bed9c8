"""RFC points over real HTTP: RFC 9207 `iss` on every authorization response, errors included; RFC 7636 verifier
rules; RFC 6749 error codes at /token; scopes narrowed, never refused (RFC 6749 3.3); an unknown or expired client
answered the way each kind of caller recovers from; RFC 8252 loopback ports; metadata with CIMD first."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from .conftest import CLIENT_REDIRECT, Browser, authorize_url, query, register_client, s256
from .test_oauth_attacks import exchange, new_client, refresh, sign_in, token_request, tokens_for

# mcp-remote's own test for a stale registration (src/lib/node-oauth-client-provider.ts)
MCP_REMOTE_STALE = re.compile(r"\bclient(?:\s+id)?\b\s+(?:['\"][^'\"]+['\"]\s+)?is\s+not[\s-]+registered\b", re.I)
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def stored(server, collection: str) -> int:
    """How many records a collection holds (every record here expires some day)."""
    return len(await server.store.collection(collection).list_expired(now=1e12, limit=10_000))


async def get(url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=headers)


# --- RFC 9207: iss on every authorization response -------------------------------------------------------------------
@pytest.mark.parametrize("overrides, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"resource": "https://elsewhere.example/mcp"}, "invalid_target"),
    ({"state": "s" * 2049}, "invalid_request"),
])
async def test_every_authorization_error_redirect_carries_iss(server, overrides, error):
    client_id = await new_client(server)
    response = await get(authorize_url(server.base_url, client_id, s256("v" * 50), **overrides))
    assert response.status_code == 302 and response.headers["location"].startswith(CLIENT_REDIRECT)
    answer = query(response.headers["location"])
    assert answer["error"] == error and answer["iss"] == server.base_url


async def test_success_and_deny_carry_iss(server):
    client_id = await new_client(server)
    browser = Browser()
    landed = await browser.authorize(server.base_url, authorize_url(server.base_url, client_id, s256("v" * 50)))
    assert landed["iss"] == server.base_url and landed["code"]
    _, fields = await browser.open_consent(authorize_url(server.base_url, client_id, s256("w" * 50)))
    denied = query((await browser.post_consent(server.base_url, fields, decision="deny")).headers["location"])
    assert denied["error"] == "access_denied" and denied["iss"] == server.base_url
    await browser.aclose()


async def test_an_oversized_state_is_refused_and_not_echoed_nor_parked(server):
    client_id = await new_client(server)
    url = authorize_url(server.base_url, client_id, s256("v" * 50), state="s" * 3000)
    response = await get(url)
    assert response.status_code == 302 and query(response.headers["location"])["error"] == "invalid_request"
    assert "state" not in query(response.headers["location"])
    async with httpx.AsyncClient() as http:  # the red team's 200 KB state, sent as a form
        posted = await http.post(f"{server.base_url}/authorize", data={**query(url), "state": "s" * 200_000})
    assert posted.status_code == 413
    assert await stored(server, "oauthtransactions") == 0


# --- RFC 7636: the verifier -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("verifier", ["a", "a" * 42, "a" * 129, "a" * 42 + "!", "ä" * 43, "a b" + "c" * 41])
async def test_a_verifier_of_the_wrong_length_or_characters_is_invalid_request(server, verifier):
    client_id = await new_client(server)
    code, _ = await sign_in(server, client_id)
    response = await exchange(server, client_id, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "RFC 7636" in response.json()["error_description"]


async def test_a_one_character_verifier_cannot_be_used_even_when_it_matches_the_challenge(server):
    client_id = await new_client(server)
    browser = Browser()
    landed = await browser.authorize(server.base_url, authorize_url(server.base_url, client_id, s256("a")))
    await browser.aclose()
    response = await exchange(server, client_id, landed["code"], "a")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("verifier", ["A" * 43, "Az0-._~" * 18 + "xx"])  # 43 and 128 characters
async def test_verifiers_at_the_limits_are_accepted(server, verifier):
    client_id = await new_client(server)
    browser = Browser()
    landed = await browser.authorize(server.base_url, authorize_url(server.base_url, client_id, s256(verifier)))
    await browser.aclose()
    response = await exchange(server, client_id, landed["code"], verifier)
    assert response.status_code == 200, response.text


# --- RFC 6749 error codes at /token --------------------------------------------------------------------------------
@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit",
                                        "urn:ietf:params:oauth:grant-type:device_code"])
async def test_an_unsupported_grant_type_is_unsupported_grant_type(server, grant_type):
    client_id = await new_client(server)
    response = await token_request(server, grant_type=grant_type, client_id=client_id, username="alice",
                                   password="sandbox")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    assert response.headers["cache-control"] == "no-store"


async def test_a_missing_grant_type_is_invalid_request(server):
    response = await token_request(server, client_id=await new_client(server), code="x")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_an_unknown_or_expired_client_at_token_is_401_invalid_client(server):
    unknown = await token_request(server, grant_type="refresh_token", refresh_token="dvrt_x", client_id="nobody")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"

    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    server.clock.advance(server.settings.client_registration_ttl_seconds + 1)
    expired = await refresh(server, client_id, tokens["refresh_token"])
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_client"


async def test_token_responses_always_carry_expires_in_and_the_granted_scope(server):
    client_id = await new_client(server)
    code, verifier = await sign_in(server, client_id)
    issued = (await exchange(server, client_id, code, verifier)).json()
    assert issued["expires_in"] == server.settings.access_token_ttl_seconds == 8 * 3600
    assert issued["scope"] == "MCP.Access"
    refreshed = await token_request(server, grant_type="refresh_token", refresh_token=issued["refresh_token"],
                                    client_id=client_id, scope="MCP.Access claudeai")  # unknown scope: dropped
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["expires_in"] == issued["expires_in"] and refreshed.json()["scope"] == "MCP.Access"


# --- scopes -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("requested, granted", [
    (None, "MCP.Access"),
    ("claudeai", "MCP.Access"),
    ("MCP.Access offline_access", "MCP.Access offline_access"),
    ("openid profile offline_access", "MCP.Access offline_access"),
    ("MCP.Access unknown.scope", "MCP.Access"),
])
async def test_scopes_at_authorize_are_narrowed_never_refused(server, requested, granted):
    client_id = await new_client(server)
    verifier = secrets.token_urlsafe(48)
    browser = Browser()
    landed = await browser.authorize(server.base_url,
                                     authorize_url(server.base_url, client_id, s256(verifier), scope=requested))
    await browser.aclose()
    issued = await exchange(server, client_id, landed["code"], verifier)
    assert issued.status_code == 200 and issued.json()["scope"] == granted and issued.json()["refresh_token"]


@pytest.mark.parametrize("scope", ["claudeai", "openid offline_access", "MCP.Access other", ""])
async def test_registration_with_any_scope_is_accepted_with_the_servers_scope(server, scope):
    response = await register_client(server.base_url, scope=scope)
    assert response.status_code == 201, response.text
    assert response.json()["scope"].split()[0] == "MCP.Access"


# --- an unknown client at /authorize ---------------------------------------------------------------------------------
async def test_an_unknown_client_asking_for_json_gets_the_error_mcp_remote_recovers_from(server):
    response = await get(authorize_url(server.base_url, "9f1c-stale", s256("v" * 50)), Accept="application/json")
    assert response.status_code in (400, 401) and "location" not in response.headers
    body = response.json()
    assert body["registration_endpoint"] == f"{server.base_url}/register"
    assert MCP_REMOTE_STALE.search(body["error_description"]), body


async def test_an_unknown_client_in_a_browser_gets_a_page_with_the_next_step_not_a_redirect(server):
    response = await get(authorize_url(server.base_url, "9f1c-stale", s256("v" * 50)), Accept=BROWSER_ACCEPT)
    assert "location" not in response.headers and response.headers["content-type"].startswith("text/html")
    assert "not registered" in response.text and 'id="next-step"' in response.text
    assert "Remove the connector and add it again" in response.text


async def test_a_redirect_uri_the_client_did_not_register_gets_a_page_never_a_redirect(server):
    client_id = await new_client(server)
    url = authorize_url(server.base_url, client_id, s256("v" * 50), redirect_uri="https://chatgpt.com/connector/oauth/x")
    page = await get(url, Accept=BROWSER_ACCEPT)
    assert page.status_code == 400 and "location" not in page.headers and 'id="next-step"' in page.text
    as_json = await get(url, Accept="application/json")
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


# --- RFC 8252 loopback ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("registered, used, allowed", [
    ("http://127.0.0.1:33418", "http://127.0.0.1:50123", True),
    ("http://[::1]:4000/cb", "http://[::1]:4001/cb", True),
    ("http://localhost:6274/oauth/callback", "http://localhost:7000/oauth/callback", True),
    ("http://127.0.0.1:33418/cb", "http://127.0.0.1:50123/other", False),  # the path is as registered
    ("http://127.0.0.1:33418/cb", "http://localhost:33418/cb", False),  # so is the host
    ("https://vscode.dev/redirect", "https://vscode.dev:8443/redirect", False),  # only loopback ports vary
])
async def test_a_loopback_redirect_may_use_any_port_but_the_registered_path(server, registered, used, allowed):
    client_id = (await register_client(server.base_url, redirect_uris=[registered])).json()["client_id"]
    response = await get(authorize_url(server.base_url, client_id, s256("v" * 50), redirect_uri=used),
                         Accept="application/json")
    if allowed:
        assert response.status_code == 302 and "/consent?" in response.headers["location"]
    else:
        assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize("application_type", [None, "web", "native"])
async def test_loopback_redirects_are_never_refused_because_of_application_type(server, application_type):
    metadata = {} if application_type is None else {"application_type": application_type}
    response = await register_client(server.base_url, redirect_uris=["http://127.0.0.1:33418"], **metadata)
    assert response.status_code == 201, response.text
    assert response.json().get("application_type") == application_type


async def test_one_refused_redirect_uri_refuses_the_whole_registration(server):
    response = await register_client(server.base_url, redirect_uris=[
        "https://vscode.dev/redirect", "https://attacker.example/cb", "http://127.0.0.1:33418"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"
    assert await stored(server, "oauthclients") == 0


# --- metadata ------------------------------------------------------------------------------------------------------
async def test_metadata_lists_client_id_metadata_documents_first_and_offers_offline_access(server):
    response = await get(f"{server.base_url}/.well-known/oauth-authorization-server")
    metadata = response.json()
    assert list(metadata)[:5] == ["issuer", "authorization_endpoint", "token_endpoint",
                                  "client_id_metadata_document_supported", "registration_endpoint"]
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["token_endpoint_auth_methods_supported"][0] == "none"
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["scopes_supported"] == ["MCP.Access", "offline_access"]
