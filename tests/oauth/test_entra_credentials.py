"""EntraClient's client credentials besides a secret, through real MSAL against the sandbox Entra: a certificate
(local development) and a federated client assertion from a user-assigned managed identity (Azure), the latter
fetched by azure-identity from an App Service-style identity endpoint served on loopback."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from dataverse.oauth.entra import EntraClient, EntraError, client_assertion_from_managed_identity
from dataverse.sandbox.entra import (
    SANDBOX_ENTRA_MOUNT_PATH,
    FederatedCredential,
    SandboxAppRegistry,
    create_sandbox_entra_app,
    mint_managed_identity_assertion,
    sandbox_entra_client_options,
)
from dataverse.sandbox.entra.browser import create_pkce_pair, sign_in_through_sandbox
from dataverse.sandbox.entra.loopback import serve_on_loopback
from dataverse.sandbox.identity import process_signing_key, sandbox_issuer
from dataverse.sandbox.users import CAROL

ENV_URL = "https://contoso-sandbox.crm.dynamics.com"
MI_CLIENT_ID = "0a1b2c3d-0000-4000-8000-0000000000c1"
MI_PRINCIPAL_ID = "0a1b2c3d-0000-4000-8000-0000000000f1"
IDENTITY_HEADER = "identity-header-secret"


def make_certificate() -> tuple[str, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dataverse-mcp-dev")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, certificate


async def managed_identity_endpoint(request: Request) -> JSONResponse:
    """App Service's identity endpoint: a token for the asked resource, for the asked user-assigned identity."""
    if request.headers.get("x-identity-header") != IDENTITY_HEADER:
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    if request.query_params.get("client_id") != MI_CLIENT_ID:
        return JSONResponse({"error": "unknown identity"}, status_code=400)
    resource = request.query_params.get("resource")
    token = mint_managed_identity_assertion(principal_id=MI_PRINCIPAL_ID, audience=resource)
    return JSONResponse({"access_token": token, "expires_on": str(int(__import__("time").time()) + 600),
                         "resource": resource, "token_type": "Bearer"})


@pytest.fixture
def served() -> Iterator[tuple[str, SandboxAppRegistry]]:
    registry = SandboxAppRegistry.create_default(redirect_uris=[])

    def build(base_url: str) -> Starlette:
        registry.apps[0].redirect_uris = (f"{base_url}/oauth/callback",)
        entra = create_sandbox_entra_app(public_base_url=base_url, registry=registry)
        return Starlette(routes=[Mount(SANDBOX_ENTRA_MOUNT_PATH, app=entra),
                                 Route("/msi/token", managed_identity_endpoint)])

    with serve_on_loopback(build) as base_url:
        yield base_url, registry


async def sign_in_and_exchange(client: EntraClient, base_url: str) -> str:
    verifier, challenge = create_pkce_pair()
    redirect_uri = f"{base_url}/oauth/callback"
    url = client.build_authorize_url(redirect_uri=redirect_uri, state="s", code_challenge=challenge, nonce="n")
    async with httpx.AsyncClient() as browser:
        location = await sign_in_through_sandbox(browser, url, username="carol")
    code = parse_qs(location.query.decode())["code"][0]
    tokens = await client.exchange_code(code=code, code_verifier=verifier, redirect_uri=redirect_uri, nonce="n")
    return tokens.access_token


async def test_a_certificate_credential_signs_in_and_gets_dataverse_tokens(served) -> None:
    base_url, registry = served
    pem, certificate = make_certificate()
    registry.apps[0].client_secret = None
    registry.apps[0].add_certificate(certificate)
    thumbprint = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    options = sandbox_entra_client_options(base_url=base_url)
    client = EntraClient(**{**options, "client_credential": {"private_key": pem, "thumbprint": thumbprint}})

    access_token = await sign_in_and_exchange(client, base_url)
    dataverse_token, _ = await client.acquire_on_behalf_of(user_assertion=access_token,
                                                           scopes=[f"{ENV_URL}/user_impersonation"])
    assert process_signing_key().verify(dataverse_token, audience=ENV_URL)["oid"] == CAROL.object_id


async def test_an_unregistered_certificate_is_refused(served) -> None:
    base_url, registry = served
    pem, certificate = make_certificate()
    registry.apps[0].add_certificate(make_certificate()[1])  # a different certificate is registered
    thumbprint = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    options = sandbox_entra_client_options(base_url=base_url)
    client = EntraClient(**{**options, "client_credential": {"private_key": pem, "thumbprint": thumbprint}})
    with pytest.raises(EntraError) as refused:
        await client.acquire_on_behalf_of(user_assertion="x", scopes=[f"{ENV_URL}/.default"])
    assert refused.value.error == "invalid_client" and refused.value.codes == [700027]


async def test_the_managed_identity_assertion_replaces_the_secret(served, monkeypatch) -> None:
    base_url, registry = served
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    registry.apps[0].client_secret = None
    registry.apps[0].federated_credential = FederatedCredential(
        issuer=sandbox_issuer("https://login.microsoftonline.com"), subject=MI_PRINCIPAL_ID
    )
    options = sandbox_entra_client_options(base_url=base_url)
    credential = {"client_assertion": client_assertion_from_managed_identity(MI_CLIENT_ID)}
    client = EntraClient(**{**options, "client_credential": credential})

    access_token = await sign_in_and_exchange(client, base_url)
    dataverse_token, _ = await client.acquire_on_behalf_of(user_assertion=access_token,
                                                           scopes=[f"{ENV_URL}/.default"])
    assert process_signing_key().verify(dataverse_token, audience=ENV_URL)["oid"] == CAROL.object_id

    registry.apps[0].federated_credential = FederatedCredential(issuer=registry.apps[0].federated_credential.issuer,
                                                                subject="some-other-identity")
    with pytest.raises(EntraError) as refused:
        await client.acquire_on_behalf_of(user_assertion=access_token, scopes=[f"{ENV_URL}/user_impersonation"])
    assert refused.value.codes == [700213]
