"""Attacks on the authorization server proxy, over real HTTP, each answered with the right RFC error."""

from __future__ import annotations

import secrets

import httpx
import pytest

from dataverse.oauth.crypto import hash_secret
from dataverse.sandbox.entra import SANDBOX_CLIENT_ID
from dataverse.sandbox.identity import mint_user_token, sandbox_issuer
from dataverse.sandbox.users import ALICE, BOB

from .conftest import CLIENT_REDIRECT, Browser, authorize_url, query, register_client, s256


async def new_client(server) -> str:
    response = await register_client(server.base_url)
    assert response.status_code == 201, response.text
    return response.json()["client_id"]


async def sign_in(server, client_id: str, *, username: str = "alice") -> tuple[str, str]:
    """(our authorization code, the PKCE verifier) after a complete browser leg."""
    verifier = secrets.token_urlsafe(48)
    browser = Browser()
    landed = await browser.authorize(server.base_url, authorize_url(server.base_url, client_id, s256(verifier)),
                                     username=username)
    await browser.aclose()
    return landed["code"], verifier


async def token_request(server, **form) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{server.base_url}/token", data=form)


async def exchange(server, client_id: str, code: str, verifier: str, **extra) -> httpx.Response:
    return await token_request(server, grant_type="authorization_code", code=code, code_verifier=verifier,
                               client_id=client_id, redirect_uri=CLIENT_REDIRECT, **extra)


async def refresh(server, client_id: str, refresh_token: str) -> httpx.Response:
    return await token_request(server, grant_type="refresh_token", refresh_token=refresh_token, client_id=client_id)


async def mcp_status(server, access_token: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json, text/event-stream",
                     "MCP-Protocol-Version": "2025-11-25"},
        )
    return response.status_code


async def tokens_for(server, client_id: str, *, username: str = "alice") -> dict:
    code, verifier = await sign_in(server, client_id, username=username)
    response = await exchange(server, client_id, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


# --- /authorize ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["plain", None])
async def test_pkce_plain_or_missing_is_refused(server, method):
    client_id = await new_client(server)
    challenge = None if method is None else "x" * 43
    url = authorize_url(server.base_url, client_id, challenge, code_challenge_method=method, state="st1")
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 302
    assert response.headers["location"].startswith(CLIENT_REDIRECT)
    assert query(response.headers["location"]).items() >= {"error": "invalid_request", "state": "st1"}.items()


async def test_redirect_uri_not_registered_is_refused_without_redirecting(server):
    client_id = await new_client(server)
    url = authorize_url(server.base_url, client_id, s256("v" * 50), redirect_uri="http://localhost:3030/other")
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_authorize_for_another_resource_is_invalid_target(server):
    client_id = await new_client(server)
    url = authorize_url(server.base_url, client_id, s256("v" * 50), resource="https://elsewhere.example/mcp",
                        state="st2")
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 302
    assert query(response.headers["location"])["error"] == "invalid_target"


async def test_dcr_with_disallowed_redirect_host_is_refused(server):
    response = await register_client(server.base_url, redirect_uris=["https://attacker.example/callback"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


# --- consent and callback -----------------------------------------------------------------------------------------
async def test_consent_page_names_the_client_and_cannot_be_framed(server):
    client_id = await new_client(server)
    browser = Browser()
    page, fields = await browser.open_consent(authorize_url(server.base_url, client_id, s256("v" * 50)))
    assert page.status_code == 200
    assert "Attack Test Client" in page.text and "localhost:3030" in page.text and "MCP.Access" in page.text
    assert "Sandbox mode." in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert browser.cookies.get("__Host-dv_browser")
    assert fields["csrf_token"] and fields["transaction"]
    await browser.aclose()


@pytest.mark.parametrize("tamper", ["no_csrf", "wrong_csrf", "no_cookie"])
async def test_consent_post_without_the_right_csrf_token_or_cookie_is_forbidden(server, tamper):
    client_id = await new_client(server)
    browser = Browser()
    _, fields = await browser.open_consent(authorize_url(server.base_url, client_id, s256("v" * 50)))
    if tamper == "no_csrf":
        fields.pop("csrf_token")
    elif tamper == "wrong_csrf":
        fields["csrf_token"] = fields["csrf_token"][:-2] + "AA"
    else:
        browser.cookies.clear()
    response = await browser.post_consent(server.base_url, fields)
    assert response.status_code == 403
    assert "__Host-dv_consent" not in browser.cookies
    await browser.aclose()


async def test_deny_returns_access_denied_with_the_clients_state(server):
    client_id = await new_client(server)
    browser = Browser()
    _, fields = await browser.open_consent(authorize_url(server.base_url, client_id, s256("v" * 50), state="keep"))
    response = await browser.post_consent(server.base_url, fields, decision="deny")
    assert response.status_code == 303
    assert query(response.headers["location"]).items() >= {"error": "access_denied", "state": "keep"}.items()
    await browser.aclose()


async def test_callback_refuses_a_browser_that_did_not_consent_and_state_is_single_use(server):
    client_id = await new_client(server)
    alice_browser, bob_browser = Browser("alice"), Browser("bob")
    _, fields = await alice_browser.open_consent(authorize_url(server.base_url, client_id, s256("v" * 50)))
    approved = await alice_browser.post_consent(server.base_url, fields)
    callback_url = await alice_browser.sign_in_at_entra(approved.headers["location"], "alice")

    # bob's browser (no consent cookie for this transaction) cannot complete alice's sign-in
    stolen = await bob_browser.request("GET", callback_url)
    assert stolen.status_code == 403
    # a browser that consented to ANOTHER transaction cannot complete this one either
    _, other = await bob_browser.open_consent(authorize_url(server.base_url, client_id, s256("w" * 50)))
    await bob_browser.post_consent(server.base_url, other)
    assert (await bob_browser.request("GET", callback_url)).status_code == 403

    completed = await alice_browser.request("GET", callback_url)
    assert completed.status_code == 302 and "code" in query(completed.headers["location"])
    replayed = await alice_browser.request("GET", callback_url)
    assert replayed.status_code == 400
    await alice_browser.aclose()
    await bob_browser.aclose()


# --- /token -------------------------------------------------------------------------------------------------------
async def test_code_replay_fails_and_revokes_the_tokens_it_issued(server):
    client_id = await new_client(server)
    code, verifier = await sign_in(server, client_id)
    first = await exchange(server, client_id, code, verifier)
    assert first.status_code == 200
    assert await mcp_status(server, first.json()["access_token"]) == 200

    replay = await exchange(server, client_id, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert await mcp_status(server, first.json()["access_token"]) == 401


async def test_wrong_pkce_verifier_is_invalid_grant(server):
    client_id = await new_client(server)
    code, _ = await sign_in(server, client_id)
    response = await exchange(server, client_id, code, "not-the-verifier-" + "x" * 40)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_token_request_for_another_resource_is_invalid_target(server):
    client_id = await new_client(server)
    code, verifier = await sign_in(server, client_id)
    response = await exchange(server, client_id, code, verifier, resource="https://elsewhere.example/mcp")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


async def test_refresh_rotates_and_replay_revokes_the_whole_grant(server):
    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    rotated = await refresh(server, client_id, tokens["refresh_token"])
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert await mcp_status(server, new["access_token"]) == 200

    replay = await refresh(server, client_id, tokens["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert await mcp_status(server, new["access_token"]) == 401
    assert (await refresh(server, client_id, new["refresh_token"])).status_code == 400


async def test_refresh_token_of_another_client_is_invalid_grant(server):
    alice_client, other_client = await new_client(server), await new_client(server)
    tokens = await tokens_for(server, alice_client)
    response = await refresh(server, other_client, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_revoking_the_refresh_token_ends_the_access_token_too(server):
    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    async with httpx.AsyncClient() as http:
        revoked = await http.post(f"{server.base_url}/revoke",
                                  data={"token": tokens["refresh_token"], "client_id": client_id})
    assert revoked.status_code == 200
    assert await mcp_status(server, tokens["access_token"]) == 401


# --- bearer check -------------------------------------------------------------------------------------------------
async def test_each_users_token_acts_only_as_that_user(server):
    client_id = await new_client(server)
    alice = await tokens_for(server, client_id, username="alice")
    bob = await tokens_for(server, client_id, username="bob")
    alice_token = await server.oauth.token_verifier.verify_token(alice["access_token"])
    bob_token = await server.oauth.token_verifier.verify_token(bob["access_token"])
    assert (alice_token.subject, alice_token.claims["upn"]) == (ALICE.object_id, ALICE.upn)
    assert (bob_token.subject, bob_token.claims["upn"]) == (BOB.object_id, BOB.upn)
    assert alice_token.claims["grant_id"] != bob_token.claims["grant_id"]


async def test_expired_access_token_is_refused(server):
    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    server.clock.advance(server.settings.access_token_ttl_seconds + 1)
    assert await mcp_status(server, tokens["access_token"]) == 401


async def test_an_entra_token_presented_directly_is_refused(server):
    entra_jwt = mint_user_token(
        ALICE, audience=f"api://{SANDBOX_CLIENT_ID}", issuer=sandbox_issuer("https://login.microsoftonline.com"),
        scopes=["MCP.Access"], client_id=SANDBOX_CLIENT_ID,
    )
    assert await mcp_status(server, entra_jwt) == 401
    assert await mcp_status(server, "dvat_" + secrets.token_urlsafe(32)) == 401


async def test_unknown_origin_is_forbidden_on_mcp(server):
    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    async with httpx.AsyncClient() as http:
        response = await http.post(server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                   headers={"Authorization": f"Bearer {tokens['access_token']}",
                                            "Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_a_token_bound_to_another_resource_is_refused(server):
    """Two deployments sharing storage: a token issued for one resource is useless at the other."""
    from dataverse.oauth.routes import create_oauth
    from dataverse.settings import Settings

    from .conftest import TEST_KEY

    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    other = create_oauth(Settings(public_base_url="https://other.example", token_encryption_key=TEST_KEY),
                         store=server.store, entra=None, clock=server.clock)
    assert await other.token_verifier.verify_token(tokens["access_token"]) is None
    assert await server.oauth.token_verifier.verify_token(tokens["access_token"]) is not None


async def test_bearer_cache_serves_steady_state_without_storage_and_forgets_local_revocations(server):
    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    verifier = server.oauth.token_verifier
    first = await verifier.verify_token(tokens["access_token"])
    await server.store.collection("oauthaccesstokens").delete(hash_secret(tokens["access_token"]))
    # storage no longer knows the token...
    assert await verifier.verify_token(tokens["access_token"]) == first  # ...the cache (<= 60 s) still does
    server.clock.advance(61)
    assert await verifier.verify_token(tokens["access_token"]) is None  # bound respected
