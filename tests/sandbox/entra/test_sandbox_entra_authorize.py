"""The sandbox Entra's discovery documents and authorize endpoint: what a browser and MSAL see, and how it refuses
requests real Entra refuses (before the redirect URI is trusted: a page; after: a redirect with the AADSTS error)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from sandbox_entra_support import API_SCOPE, AUTHORIZE_PATH, BASE_URL, ENV_URL, REDIRECT_URI, TENANT_PATH

from dataverse.sandbox.entra import SANDBOX_CLIENT_ID, SandboxAppRegistry
from dataverse.sandbox.entra.browser import create_pkce_pair
from dataverse.sandbox.identity import process_signing_key
from dataverse.sandbox.users import SANDBOX_TENANT_ID


def authorize_url(**overrides: str | None) -> str:
    _, challenge = create_pkce_pair()
    params: dict[str, str | None] = {
        "client_id": SANDBOX_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": f"{API_SCOPE} openid profile offline_access",
        "state": "st",
        "nonce": "nn",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return f"{AUTHORIZE_PATH}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(location.split("?", 1)[1]).items()}


async def test_openid_configuration_names_the_real_issuer_and_the_sandbox_sign_in_page(
    entra: httpx.AsyncClient,
) -> None:
    document = (await entra.get(f"{TENANT_PATH}/v2.0/.well-known/openid-configuration")).json()
    assert document["issuer"] == f"https://login.microsoftonline.com/{SANDBOX_TENANT_ID}/v2.0"
    assert document["token_endpoint"] == f"https://login.microsoftonline.com/{SANDBOX_TENANT_ID}/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == f"{BASE_URL}{AUTHORIZE_PATH}"
    assert document["code_challenge_methods_supported"] == ["S256"]


async def test_discovery_for_another_tenant_is_refused(entra: httpx.AsyncClient) -> None:
    response = await entra.get("/sandbox/entra/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400 and response.json()["error_codes"] == [90002]


async def test_jwks_publishes_the_key_that_verifies_sandbox_tokens(entra: httpx.AsyncClient) -> None:
    import jwt

    keys = (await entra.get(f"{TENANT_PATH}/discovery/v2.0/keys")).json()["keys"]
    token = process_signing_key().sign({"aud": "x", "iss": "y", "exp": 4102444800})
    (key,) = [jwt.PyJWK(k) for k in keys if k["kid"] == jwt.get_unverified_header(token)["kid"]]
    assert jwt.decode(token, key.key, algorithms=["RS256"], audience="x")["iss"] == "y"


async def test_sign_in_page_lists_the_users_and_preselects_the_login_hint(entra: httpx.AsyncClient) -> None:
    page = await entra.get(authorize_url(login_hint="bob"))
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    for username in ("alice", "bob", "carol"):
        assert f'value="{username}"' in page.text
    assert 'value="bob" checked' in page.text and 'value="alice" checked' not in page.text
    assert 'name="password"' in page.text


async def test_signing_in_redirects_with_a_code_and_the_state(entra: httpx.AsyncClient) -> None:
    url = authorize_url()
    query = redirect_query(await entra.post(url, data={"username": "carol", "password": "sandbox"}))
    assert query["state"] == "st" and query["code"]
    assert "error" not in query


async def test_a_wrong_password_shows_the_page_again_without_a_code(entra: httpx.AsyncClient) -> None:
    response = await entra.post(authorize_url(), data={"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert "AADSTS50126" in response.text and "location" not in response.headers


async def test_an_unknown_client_gets_an_error_page_not_a_redirect(entra: httpx.AsyncClient) -> None:
    response = await entra.get(authorize_url(client_id="00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 400 and "location" not in response.headers
    assert "AADSTS700016" in response.text


@pytest.mark.parametrize("redirect_uri", [REDIRECT_URI + "/", REDIRECT_URI + "?x=1", "https://evil.example/cb", None])
async def test_a_redirect_uri_must_match_exactly(entra: httpx.AsyncClient, redirect_uri: str | None) -> None:
    response = await entra.get(authorize_url(redirect_uri=redirect_uri))
    assert response.status_code == 400 and "location" not in response.headers
    assert "AADSTS50011" in response.text


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"resource": ENV_URL}, 9010010),
        ({"code_challenge": None}, 9002325),
        ({"code_challenge_method": "plain"}, 501491),
        ({"code_challenge_method": None}, 501491),
        ({"response_type": "token"}, 700054),
        ({"scope": f"{API_SCOPE} {ENV_URL}/user_impersonation openid"}, 28000),
        ({"scope": "api://unknown-app/MCP.Access openid"}, 500011),
        ({"scope": f"api://{SANDBOX_CLIENT_ID}/Other.Scope"}, 70011),
        ({"scope": "openid profile"}, 70011),
        ({"scope": None}, 28003),
    ],
)
async def test_bad_requests_redirect_back_with_the_entra_error(
    entra: httpx.AsyncClient, overrides: dict[str, str | None], code: int
) -> None:
    query = redirect_query(await entra.get(authorize_url(**overrides)))
    assert query["error_description"].startswith(f"AADSTS{code}:")
    assert query["state"] == "st" and "code" not in query


async def test_a_form_post_cannot_skip_the_checks(entra: httpx.AsyncClient) -> None:
    response = await entra.post(authorize_url(resource=ENV_URL), data={"username": "alice", "password": "sandbox"})
    query = redirect_query(response)
    assert "code" not in query and query["error_description"].startswith("AADSTS9010010")


async def test_requests_are_counted_per_endpoint(entra: httpx.AsyncClient, registry: SandboxAppRegistry) -> None:
    await entra.get(authorize_url())
    await entra.get(authorize_url())
    await entra.get(f"{TENANT_PATH}/discovery/v2.0/keys")
    assert registry.request_counts["authorize"] == 2 and registry.request_counts["keys"] == 1


async def test_an_outage_answers_503_everywhere(entra: httpx.AsyncClient, registry: SandboxAppRegistry) -> None:
    registry.outage = "unavailable"
    for response in (await entra.get(authorize_url()), await entra.get(f"{TENANT_PATH}/discovery/v2.0/keys")):
        assert response.status_code == 503 and response.headers["retry-after"]
        assert response.json()["error"] == "temporarily_unavailable"


async def test_the_sign_in_page_names_the_app_registration_and_labels_every_field(entra: httpx.AsyncClient) -> None:
    page = await entra.get(authorize_url())
    assert page.status_code == 200
    assert 'id="app-name">Dataverse MCP (sandbox)</span>' in page.text
    assert '<label for="password">' in page.text and 'name="viewport"' in page.text and "Sandbox mode." in page.text


async def test_the_sandbox_root_explains_itself(entra: httpx.AsyncClient) -> None:
    page = await entra.get("/sandbox/entra/")
    assert page.status_code == 200 and 'id="users"' in page.text and SANDBOX_TENANT_ID in page.text
