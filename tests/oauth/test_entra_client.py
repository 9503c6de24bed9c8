"""EntraClient (real MSAL) against the sandbox Entra served over loopback HTTP: the sign-in, code exchange, refresh
and On-Behalf-Of legs, and the attacks and failures each leg must turn into EntraError / EntraUnavailableError."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.oauth.entra import EntraClient, EntraError, EntraUnavailableError, UpstreamTokens
from dataverse.sandbox.entra import (
    SANDBOX_CLIENT_ID,
    SANDBOX_ENTRA_MOUNT_PATH,
    SandboxAppRegistry,
    create_sandbox_entra_app,
    sandbox_entra_client_options,
)
from dataverse.sandbox.entra.browser import create_pkce_pair, sign_in_through_sandbox
from dataverse.sandbox.entra.loopback import serve_on_loopback
from dataverse.sandbox.identity import mint_user_token, process_signing_key, sandbox_issuer
from dataverse.sandbox.users import ALICE, BOB, SANDBOX_TENANT_ID

ENV_URL = "https://contoso-sandbox.crm.dynamics.com"
API_AUDIENCE = f"api://{SANDBOX_CLIENT_ID}"
ISSUER = sandbox_issuer("https://login.microsoftonline.com")


@dataclass
class Sandbox:
    base_url: str
    registry: SandboxAppRegistry

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/oauth/callback"

    def client(self, **overrides) -> EntraClient:
        return EntraClient(**{**sandbox_entra_client_options(base_url=self.base_url), **overrides})


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    registry = SandboxAppRegistry.create_default(redirect_uris=[])

    def build(base_url: str) -> Starlette:
        registry.apps[0].redirect_uris = (f"{base_url}/oauth/callback",)
        entra = create_sandbox_entra_app(public_base_url=base_url, registry=registry)
        return Starlette(routes=[Mount(SANDBOX_ENTRA_MOUNT_PATH, app=entra)])

    with serve_on_loopback(build) as base_url:
        yield Sandbox(base_url=base_url, registry=registry)


@pytest.fixture
async def browser() -> Iterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def sign_in(sandbox: Sandbox, browser: httpx.AsyncClient, client: EntraClient, *, username: str = "alice",
                  nonce: str = "nonce-1") -> tuple[str, str]:
    """Run the browser leg; returns (code, code_verifier)."""
    verifier, challenge = create_pkce_pair()
    url = client.build_authorize_url(redirect_uri=sandbox.redirect_uri, state="state-1", code_challenge=challenge,
                                     nonce=nonce)
    location = await sign_in_through_sandbox(browser, url, username=username)
    query = parse_qs(location.query.decode())
    assert str(location).startswith(sandbox.redirect_uri + "?"), str(location)
    assert query["state"] == ["state-1"]
    return query["code"][0], verifier


async def signed_in_tokens(sandbox: Sandbox, browser: httpx.AsyncClient, client: EntraClient,
                           **options) -> UpstreamTokens:
    code, verifier = await sign_in(sandbox, browser, client, **options)
    return await client.exchange_code(code=code, code_verifier=verifier, redirect_uri=sandbox.redirect_uri,
                                      nonce=options.get("nonce", "nonce-1"))


def test_authorize_url_asks_for_one_resource_with_pkce_and_never_a_resource_parameter(sandbox: Sandbox) -> None:
    url = sandbox.client().build_authorize_url(redirect_uri=sandbox.redirect_uri, state="s", code_challenge="c",
                                               nonce="n", login_hint="alice")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"{sandbox.base_url}/sandbox/entra/{SANDBOX_TENANT_ID}/oauth2/v2.0/authorize"
    )
    assert query["scope"] == [f"{API_AUDIENCE}/MCP.Access openid profile offline_access"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == ["c"] and query["state"] == ["s"] and query["nonce"] == ["n"]
    assert query["login_hint"] == ["alice"]
    assert "resource" not in query


def test_default_authorize_endpoint_is_the_tenants_v2_endpoint() -> None:
    client = EntraClient(tenant_id="t-1", client_id="c-1", api_scope="api://c-1/MCP.Access", client_credential="x")
    url = client.build_authorize_url(redirect_uri="https://app/cb", state="s", code_challenge="c", nonce="n")
    assert url.startswith("https://login.microsoftonline.com/t-1/oauth2/v2.0/authorize?")


async def test_constructing_a_client_and_building_urls_makes_no_request(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.build_authorize_url(redirect_uri=sandbox.redirect_uri, state="s", code_challenge="c", nonce="n")
    assert sum(sandbox.registry.request_counts.values()) == 0


async def test_sign_in_exchange_refresh_and_on_behalf_of(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    tokens = await signed_in_tokens(sandbox, browser, client, username="bob", nonce="n-bob")

    assert tokens.id_token_claims["oid"] == BOB.object_id
    assert tokens.id_token_claims["nonce"] == "n-bob"
    assert tokens.id_token_claims["preferred_username"] == BOB.upn
    assert tokens.refresh_token
    assert tokens.expires_at > time.time() + 3000
    api_claims = process_signing_key().verify(tokens.access_token, audience=API_AUDIENCE, issuer=ISSUER)
    assert api_claims["scp"] == "MCP.Access" and api_claims["oid"] == BOB.object_id

    refreshed = await client.refresh(tokens.refresh_token)
    assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
    assert process_signing_key().verify(refreshed.access_token, audience=API_AUDIENCE)["oid"] == BOB.object_id
    with pytest.raises(EntraError) as reused:
        await client.refresh(tokens.refresh_token)
    assert reused.value.interaction_required and not isinstance(reused.value, EntraUnavailableError)

    dataverse_token, expires_at = await client.acquire_on_behalf_of(
        user_assertion=refreshed.access_token, scopes=[f"{ENV_URL}/user_impersonation"]
    )
    claims = process_signing_key().verify(dataverse_token, audience=ENV_URL, issuer=ISSUER)
    assert claims["scp"] == "user_impersonation"
    assert claims["oid"] == BOB.object_id
    assert claims["tid"] == SANDBOX_TENANT_ID
    assert expires_at > time.time() + 3000


async def test_on_behalf_of_accepts_the_default_scope(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    tokens = await signed_in_tokens(sandbox, browser, client)
    token, _ = await client.acquire_on_behalf_of(user_assertion=tokens.access_token, scopes=[f"{ENV_URL}/.default"])
    assert process_signing_key().verify(token, audience=ENV_URL)["oid"] == ALICE.object_id


async def test_pkce_verifier_mismatch_is_refused(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    code, _ = await sign_in(sandbox, browser, client)
    other_verifier, _ = create_pkce_pair()
    with pytest.raises(EntraError) as refused:
        await client.exchange_code(code=code, code_verifier=other_verifier, redirect_uri=sandbox.redirect_uri,
                                   nonce="nonce-1")
    assert refused.value.error == "invalid_grant" and 501481 in refused.value.codes


async def test_an_authorization_code_works_once(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    code, verifier = await sign_in(sandbox, browser, client)
    await client.exchange_code(code=code, code_verifier=verifier, redirect_uri=sandbox.redirect_uri, nonce="nonce-1")
    with pytest.raises(EntraError) as replay:
        await client.exchange_code(code=code, code_verifier=verifier, redirect_uri=sandbox.redirect_uri,
                                   nonce="nonce-1")
    assert 54005 in replay.value.codes


async def test_code_exchange_with_another_redirect_uri_is_refused(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    code, verifier = await sign_in(sandbox, browser, client)
    with pytest.raises(EntraError) as refused:
        await client.exchange_code(code=code, code_verifier=verifier, redirect_uri=sandbox.redirect_uri + "x",
                                   nonce="nonce-1")
    assert refused.value.error == "invalid_grant" and 50011 in refused.value.codes


async def test_wrong_client_secret_is_refused(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    code, verifier = await sign_in(sandbox, browser, sandbox.client())
    impostor = sandbox.client(client_credential="not-the-secret")
    with pytest.raises(EntraError) as refused:
        await impostor.exchange_code(code=code, code_verifier=verifier, redirect_uri=sandbox.redirect_uri,
                                     nonce="nonce-1")
    assert refused.value.error == "invalid_client" and refused.value.codes == [7000215]
    assert not refused.value.interaction_required


async def test_on_behalf_of_refuses_a_token_for_another_audience(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    tokens = await signed_in_tokens(sandbox, browser, client)
    dataverse_token, _ = await client.acquire_on_behalf_of(user_assertion=tokens.access_token,
                                                           scopes=[f"{ENV_URL}/user_impersonation"])
    foreign = mint_user_token(ALICE, audience="api://someone-else", issuer=ISSUER, scopes=["MCP.Access"],
                              client_id="someone-else")
    for assertion in (dataverse_token, foreign):
        with pytest.raises(EntraError) as refused:
            await client.acquire_on_behalf_of(user_assertion=assertion, scopes=[f"{ENV_URL}/user_impersonation"])
        assert 500131 in refused.value.codes


async def test_on_behalf_of_refuses_a_token_signed_by_another_key(sandbox: Sandbox) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    forged = jwt.encode({"aud": API_AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 600, "oid": ALICE.object_id},
                        rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")
    with pytest.raises(EntraError) as refused:
        await sandbox.client().acquire_on_behalf_of(user_assertion=forged, scopes=[f"{ENV_URL}/.default"])
    assert 50013 in refused.value.codes


async def test_on_behalf_of_without_admin_consent_says_so(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    client = sandbox.client()
    tokens = await signed_in_tokens(sandbox, browser, client)
    sandbox.registry.apps[0].admin_consent_granted = False
    with pytest.raises(EntraError) as refused:
        await client.acquire_on_behalf_of(user_assertion=tokens.access_token, scopes=[f"{ENV_URL}/user_impersonation"])
    assert refused.value.admin_consent_required
    assert not refused.value.interaction_required
    assert "AADSTS65001" in refused.value.description


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"nonce": "someone-elses-nonce"}, "nonce"),
        ({"tid": "00000000-0000-0000-0000-00000000beef"}, "tenant"),
        ({"aud": "another-client-id"}, "audience"),
        ({"iss": "https://login.microsoftonline.com/common/v2.0"}, "issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
    ],
)
async def test_exchange_code_rejects_an_id_token_not_meant_for_this_sign_in(
    sandbox: Sandbox, browser: httpx.AsyncClient, override: dict, complaint: str
) -> None:
    client = sandbox.client()
    code, verifier = await sign_in(sandbox, browser, client)
    sandbox.registry.id_token_claim_overrides = override
    with pytest.raises(EntraError) as rejected:
        await client.exchange_code(code=code, code_verifier=verifier, redirect_uri=sandbox.redirect_uri,
                                   nonce="nonce-1")
    assert rejected.value.error == "invalid_id_token"
    assert complaint in rejected.value.description


async def test_refresh_after_the_sessions_were_revoked_requires_interaction(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    client = sandbox.client()
    tokens = await signed_in_tokens(sandbox, browser, client)
    assert sandbox.registry.revoke_refresh_tokens(username="alice") == 1
    with pytest.raises(EntraError) as refused:
        await client.refresh(tokens.refresh_token)
    assert refused.value.interaction_required and 50173 in refused.value.codes


async def test_outage_before_first_use_is_unavailable(sandbox: Sandbox) -> None:
    sandbox.registry.outage = "unavailable"
    with pytest.raises(EntraUnavailableError):
        await sandbox.client().refresh("any-refresh-token")
    assert sandbox.registry.request_counts["openid_configuration"] >= 1


async def test_outage_on_the_token_endpoint_is_unavailable_and_the_grant_survives(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    client = sandbox.client()
    tokens = await signed_in_tokens(sandbox, browser, client)
    sandbox.registry.outage = "unavailable"
    with pytest.raises(EntraUnavailableError) as unavailable:
        await client.refresh(tokens.refresh_token)
    assert not unavailable.value.interaction_required
    sandbox.registry.outage = "none"
    # MSAL honours Retry-After by replaying the 503 to the same client for a while, so a second client retries:
    refreshed = await sandbox.client().refresh(tokens.refresh_token)  # the 503 consumed nothing
    assert refreshed.refresh_token != tokens.refresh_token


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


async def test_connection_refused_is_unavailable() -> None:
    client = EntraClient(**sandbox_entra_client_options(base_url=_closed_port_url()))
    with pytest.raises(EntraUnavailableError):
        await client.acquire_on_behalf_of(user_assertion="x", scopes=[f"{ENV_URL}/.default"])
