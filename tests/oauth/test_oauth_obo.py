"""DataverseTokenService against the sandbox Entra (real MSAL over loopback HTTP): OBO for the signed-in user, the
steady-state cache, server-side renewal of an expired upstream token (and the race two instances run), the
admin-consent error, an Entra outage that loses nothing, and a revoked grant. Other instances of the app are built
as the app builds one (`create_oauth` over the same store); stored grants are read through the store's API."""

from __future__ import annotations

import asyncio
import base64
import json

import jwt
import pytest

from dataverse.oauth.crypto import DecryptionError, TokenCipher, parse_master_key, upstream_token_cipher
from dataverse.oauth.entra import EntraClient
from dataverse.oauth.errors import AdminConsentRequiredError, GrantExpiredError, UpstreamUnavailableError
from dataverse.oauth.models import COLLECTIONS
from dataverse.oauth.obo import DataverseTokenService
from dataverse.oauth.routes import create_oauth
from dataverse.sandbox.entra import sandbox_entra_client_options
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings
from dataverse.storage.codec import encode_value

from .test_oauth_attacks import new_client, tokens_for

ENV = "https://contoso.crm.dynamics.com"


async def signed_in(server):
    client_id = await new_client(server)
    tokens = await tokens_for(server, client_id)
    return await server.oauth.token_verifier.verify_token(tokens["access_token"])


async def stored_grant(server, grant_id: str) -> str:
    """The grant exactly as the store holds it: its value's stored JSON text."""
    record = await server.store.collection(COLLECTIONS["grants"]).get(grant_id)
    assert record is not None
    return encode_value(record.value)


def deployment_cipher(settings: Settings) -> TokenCipher:
    """The upstream-token cipher every instance of this deployment derives from its TOKEN_ENCRYPTION_KEY."""
    return upstream_token_cipher(parse_master_key(settings.token_encryption_key, allow_ephemeral=False))


def another_instance(server, settings: Settings | None = None) -> DataverseTokenService:
    """The OBO service of another instance of the app: same store, its own Entra client, cache and locks."""
    entra = EntraClient(**sandbox_entra_client_options(base_url=server.base_url))
    return create_oauth(settings or server.settings, store=server.store, entra=entra,
                        clock=server.clock).dataverse_tokens


async def test_obo_token_is_for_the_user_and_dataverse_and_cached(server):
    access = await signed_in(server)
    token = await server.oauth.dataverse_tokens.get_token(access, ENV)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["oid"] == ALICE.object_id and claims["aud"].rstrip("/") == ENV
    calls = server.registry.request_counts["token"]
    assert await server.oauth.dataverse_tokens.get_token(access, ENV + "/") == token
    assert server.registry.request_counts["token"] == calls  # steady state: no Entra call


async def test_upstream_tokens_are_encrypted_at_rest(server):
    access = await signed_in(server)
    grant_id = access.claims["grant_id"]
    raw = await stored_grant(server, grant_id)
    sealed = json.loads(raw)["upstream"]
    cipher = deployment_cipher(server.settings)
    upstream = cipher.decrypt_json(sealed, associated_data=grant_id)
    assert upstream["access_token"].startswith("eyJ") and upstream["refresh_token"]
    assert upstream["access_token"] not in raw and upstream["refresh_token"] not in raw
    with pytest.raises(DecryptionError):  # bound to its grant: moving it to another record does not decrypt
        cipher.decrypt_json(sealed, associated_data="another-grant")


async def test_expired_upstream_token_is_renewed_and_persisted(server):
    access = await signed_in(server)
    before = await stored_grant(server, access.claims["grant_id"])
    server.clock.advance(2 * 3600)  # the upstream Entra token (1 h) is now past its expiry
    token = await server.oauth.dataverse_tokens.get_token(access, ENV)
    assert token
    assert await stored_grant(server, access.claims["grant_id"]) != before


async def test_two_instances_renewing_at_once_both_succeed_and_agree_on_the_stored_tokens(server):
    access = await signed_in(server)
    server.clock.advance(2 * 3600)
    other = another_instance(server)
    first, second = await asyncio.gather(server.oauth.dataverse_tokens.get_token(access, ENV),
                                         other.get_token(access, ENV))
    assert first and second
    # a third instance, later, still works from what was persisted (no refresh token was lost)
    assert await another_instance(server).get_token(access, ENV)


async def test_missing_admin_consent_names_the_admin_step(server):
    access = await signed_in(server)
    server.registry.apps[0].admin_consent_granted = False
    with pytest.raises(AdminConsentRequiredError, match="admin consent"):
        await server.oauth.dataverse_tokens.get_token(access, ENV)


async def test_entra_outage_is_503_class_and_loses_nothing(server):
    access = await signed_in(server)
    server.registry.outage = "unavailable"
    with pytest.raises(UpstreamUnavailableError):
        await server.oauth.dataverse_tokens.get_token(access, ENV)
    server.registry.outage = "none"
    # a fresh instance (MSAL throttles a client for Retry-After after a 503) finds the grant intact
    assert await another_instance(server).get_token(access, ENV)


async def test_revoked_grant_means_sign_in_again(server):
    access = await signed_in(server)
    await server.oauth.revoke_grant(access.claims["grant_id"])
    with pytest.raises(GrantExpiredError):
        await server.oauth.dataverse_tokens.get_token(access, ENV)
    assert await server.oauth.token_verifier.verify_token(access.token) is None


async def test_a_grant_encrypted_under_another_key_is_unreadable(server):
    access = await signed_in(server)
    other_key = base64.b64encode(b"z" * 32).decode()
    stranger = another_instance(server, server.settings.model_copy(update={"token_encryption_key": other_key}))
    with pytest.raises(GrantExpiredError):
        await stranger.get_token(access, ENV)
