"""The sandbox Entra token endpoint over HTTP: each grant, client authentication by secret and by assertion, and the
Entra-shaped refusals (error, "AADSTS<n>: ..." description, error_codes)."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
import pytest
from sandbox_entra_support import API_SCOPE, AUTHORIZE_PATH, ENV_URL, REDIRECT_URI, TOKEN_PATH

from dataverse.sandbox.entra import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    FederatedCredential,
    SandboxAppRegistry,
    mint_managed_identity_assertion,
)
from dataverse.sandbox.entra.browser import create_pkce_pair
from dataverse.sandbox.identity import mint_user_token, process_signing_key, sandbox_issuer
from dataverse.sandbox.users import ALICE, CAROL

ISSUER = sandbox_issuer("https://login.microsoftonline.com")
SECRET = {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MI_PRINCIPAL = "7e570000-0000-4000-8000-00000000001d"


async def get_code(entra: httpx.AsyncClient, *, scope: str = f"{API_SCOPE} openid profile offline_access",
                   username: str = "alice") -> tuple[str, str]:
    verifier, challenge = create_pkce_pair()
    query = urlencode({"client_id": SANDBOX_CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                       "scope": scope, "state": "s", "nonce": "n-1", "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    response = await entra.post(f"{AUTHORIZE_PATH}?{query}", data={"username": username, "password": "sandbox"})
    return parse_qs(response.headers["location"].split("?", 1)[1])["code"][0], verifier


async def token(entra: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await entra.post(TOKEN_PATH, data=form)


def assert_entra_error(response: httpx.Response, *, error: str, code: int, status: int = 400) -> None:
    body = response.json()
    assert response.status_code == status, body
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert response.headers["cache-control"] == "no-store"


async def redeem(entra: httpx.AsyncClient, code: str, verifier: str, **extra: str) -> httpx.Response:
    return await token(entra, grant_type="authorization_code", code=code, code_verifier=verifier,
                       redirect_uri=REDIRECT_URI, scope=API_SCOPE, **{**SECRET, **extra})


async def test_code_redemption_returns_api_token_refresh_token_and_id_token(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra)
    body = (await redeem(entra, code, verifier)).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["refresh_token"]
    claims = process_signing_key().verify(body["access_token"], audience=f"api://{SANDBOX_CLIENT_ID}", issuer=ISSUER)
    assert claims["scp"] == "MCP.Access" and claims["oid"] == ALICE.object_id
    id_claims = process_signing_key().verify(body["id_token"], audience=SANDBOX_CLIENT_ID, issuer=ISSUER)
    assert id_claims["nonce"] == "n-1" and id_claims["tid"] and id_claims["name"] == ALICE.full_name


async def test_without_offline_access_there_is_no_refresh_token(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra, scope=f"{API_SCOPE} openid")
    body = (await redeem(entra, code, verifier)).json()
    assert "access_token" in body and "refresh_token" not in body


async def test_client_secret_by_http_basic_is_accepted(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra)
    basic = base64.b64encode(f"{SANDBOX_CLIENT_ID}:{SANDBOX_CLIENT_SECRET}".encode()).decode()
    response = await entra.post(TOKEN_PATH, headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT_URI})
    assert response.status_code == 200 and response.json()["access_token"]


async def test_missing_client_credentials_are_refused(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra)
    response = await token(entra, grant_type="authorization_code", code=code, code_verifier=verifier,
                           redirect_uri=REDIRECT_URI, client_id=SANDBOX_CLIENT_ID)
    assert_entra_error(response, error="invalid_client", code=7000218, status=401)


async def test_a_code_issued_to_one_app_cannot_be_redeemed_by_another(entra: httpx.AsyncClient,
                                                                       registry: SandboxAppRegistry) -> None:
    from dataverse.sandbox.entra import SandboxApp

    registry.apps.append(SandboxApp(client_id="other-app", redirect_uris=(REDIRECT_URI,), client_secret="other"))
    code, verifier = await get_code(entra)
    response = await token(entra, grant_type="authorization_code", code=code, code_verifier=verifier,
                           redirect_uri=REDIRECT_URI, client_id="other-app", client_secret="other")
    assert_entra_error(response, error="invalid_grant", code=700005)


async def test_a_missing_code_verifier_is_refused(entra: httpx.AsyncClient) -> None:
    code, _ = await get_code(entra)
    response = await token(entra, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, **SECRET)
    assert_entra_error(response, error="invalid_grant", code=501481)


async def test_an_expired_code_is_refused(entra: httpx.AsyncClient, registry: SandboxAppRegistry) -> None:
    code, verifier = await get_code(entra)
    registry._codes[code].expires_at = time.time() - 1
    assert_entra_error(await redeem(entra, code, verifier), error="invalid_grant", code=70008)


async def test_a_resource_parameter_is_refused_at_the_token_endpoint(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra)
    assert_entra_error(await redeem(entra, code, verifier, resource=ENV_URL), error="invalid_target", code=9010010)
    assert (await redeem(entra, code, verifier)).status_code == 200  # the refused request consumed nothing


async def test_refresh_requires_a_scope_and_rotates(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra)
    refresh_token = (await redeem(entra, code, verifier)).json()["refresh_token"]
    missing = await token(entra, grant_type="refresh_token", refresh_token=refresh_token, **SECRET)
    assert_entra_error(missing, error="invalid_scope", code=28003)

    rotated = (await token(entra, grant_type="refresh_token", refresh_token=refresh_token,
                           scope=f"{API_SCOPE} openid offline_access", **SECRET)).json()
    assert rotated["refresh_token"] != refresh_token and rotated["id_token"]
    reused = await token(entra, grant_type="refresh_token", refresh_token=refresh_token, scope=API_SCOPE, **SECRET)
    assert_entra_error(reused, error="invalid_grant", code=70000)


async def test_an_expired_refresh_token_is_refused(entra: httpx.AsyncClient, registry: SandboxAppRegistry) -> None:
    code, verifier = await get_code(entra)
    refresh_token = (await redeem(entra, code, verifier)).json()["refresh_token"]
    registry.expire_refresh_tokens()
    response = await token(entra, grant_type="refresh_token", refresh_token=refresh_token, scope=API_SCOPE, **SECRET)
    assert_entra_error(response, error="invalid_grant", code=700082)


async def test_a_refresh_token_can_get_a_dataverse_token(entra: httpx.AsyncClient) -> None:
    code, verifier = await get_code(entra)
    refresh_token = (await redeem(entra, code, verifier)).json()["refresh_token"]
    body = (await token(entra, grant_type="refresh_token", refresh_token=refresh_token,
                        scope=f"{ENV_URL}/user_impersonation offline_access", **SECRET)).json()
    assert process_signing_key().verify(body["access_token"], audience=ENV_URL)["scp"] == "user_impersonation"


def api_token(user=ALICE, **options) -> str:
    return mint_user_token(user, audience=f"api://{SANDBOX_CLIENT_ID}", issuer=ISSUER, scopes=["MCP.Access"],
                           client_id="chat-client", **options)


async def on_behalf_of(entra: httpx.AsyncClient, assertion: str, scope: str = f"{ENV_URL}/user_impersonation",
                       **extra: str) -> httpx.Response:
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion,
            "requested_token_use": "on_behalf_of", "scope": scope, **SECRET, **extra}
    return await token(entra, **form)


async def test_on_behalf_of_returns_a_dataverse_token_for_the_same_user(entra: httpx.AsyncClient) -> None:
    body = (await on_behalf_of(entra, api_token(CAROL))).json()
    claims = process_signing_key().verify(body["access_token"], audience=ENV_URL, issuer=ISSUER)
    assert claims["oid"] == CAROL.object_id and claims["scp"] == "user_impersonation"
    assert "refresh_token" not in body and "id_token" not in body


@pytest.mark.parametrize(
    ("assertion", "code"),
    [
        (lambda: api_token(lifetime_seconds=-120), 500133),
        (lambda: api_token(extra_claims={"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}), 50013),
        (lambda: mint_user_token(ALICE, audience=ENV_URL, issuer=ISSUER, scopes=["user_impersonation"],
                                 client_id=SANDBOX_CLIENT_ID), 500131),
        (lambda: "not-a-jwt", 50013),
    ],
)
async def test_on_behalf_of_refuses_assertions_it_did_not_issue_for_this_api(entra: httpx.AsyncClient, assertion,
                                                                              code: int) -> None:
    assert_entra_error(await on_behalf_of(entra, assertion()), error="invalid_grant", code=code)


async def test_on_behalf_of_needs_requested_token_use(entra: httpx.AsyncClient) -> None:
    response = await on_behalf_of(entra, api_token(), requested_token_use="")
    assert_entra_error(response, error="invalid_request", code=50034)


async def test_on_behalf_of_without_admin_consent_is_aadsts65001(entra: httpx.AsyncClient,
                                                                  registry: SandboxAppRegistry) -> None:
    registry.apps[0].admin_consent_granted = False
    assert_entra_error(await on_behalf_of(entra, api_token()), error="invalid_grant", code=65001)


async def test_on_behalf_of_limited_to_known_environments(entra: httpx.AsyncClient,
                                                          registry: SandboxAppRegistry) -> None:
    registry.dataverse_resources = ("https://other.crm.dynamics.com",)
    assert_entra_error(await on_behalf_of(entra, api_token()), error="invalid_resource", code=500011)


async def test_password_grant_for_sandbox_users_only(entra: httpx.AsyncClient) -> None:
    ok = await token(entra, grant_type="password", username="carol@sandbox.example", password="sandbox",
                     scope=f"{ENV_URL}/.default", **SECRET)
    assert process_signing_key().verify(ok.json()["access_token"], audience=ENV_URL)["oid"] == CAROL.object_id
    for username, password in (("carol", "wrong"), ("mallory", "sandbox")):
        refused = await token(entra, grant_type="password", username=username, password=password,
                              scope=API_SCOPE, **SECRET)
        assert_entra_error(refused, error="invalid_grant", code=50126)


async def test_unsupported_grant_type(entra: httpx.AsyncClient) -> None:
    response = await token(entra, grant_type="client_credentials", scope=f"{ENV_URL}/.default", **SECRET)
    assert_entra_error(response, error="unsupported_grant_type", code=70003)


def with_federated_credential(registry: SandboxAppRegistry) -> None:
    registry.apps[0].client_secret = None
    registry.apps[0].federated_credential = FederatedCredential(issuer=ISSUER, subject=MI_PRINCIPAL)


async def test_a_managed_identity_assertion_authenticates_the_app(entra: httpx.AsyncClient,
                                                                  registry: SandboxAppRegistry) -> None:
    with_federated_credential(registry)
    assertion = mint_managed_identity_assertion(principal_id=MI_PRINCIPAL)
    response = await on_behalf_of(entra, api_token(), client_secret="", client_assertion=assertion,
                                  client_assertion_type=ASSERTION_TYPE)
    assert response.status_code == 200, response.text
    refused_secret = await on_behalf_of(entra, api_token())
    assert_entra_error(refused_secret, error="invalid_client", code=7000215, status=401)


@pytest.mark.parametrize(
    ("assertion", "code"),
    [
        (lambda: mint_managed_identity_assertion(principal_id="another-identity"), 700213),
        (lambda: mint_managed_identity_assertion(principal_id=MI_PRINCIPAL, tenant_id="another-tenant"), 700211),
        (lambda: mint_managed_identity_assertion(principal_id=MI_PRINCIPAL, audience="api://other"), 700212),
        (lambda: mint_managed_identity_assertion(principal_id=MI_PRINCIPAL, lifetime_seconds=-120), 700024),
        (lambda: jwt.encode({"sub": MI_PRINCIPAL}, "k" * 32, algorithm="HS256"), 700027),
    ],
)
async def test_client_assertions_that_do_not_match_the_federated_credential_are_refused(
    entra: httpx.AsyncClient, registry: SandboxAppRegistry, assertion, code: int
) -> None:
    with_federated_credential(registry)
    response = await on_behalf_of(entra, api_token(), client_secret="", client_assertion=assertion(),
                                  client_assertion_type=ASSERTION_TYPE)
    assert_entra_error(response, error="invalid_client", code=code, status=401)
