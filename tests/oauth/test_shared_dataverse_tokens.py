"""Dataverse tokens shared between instances through storage (dataverse/oauth/shared_tokens.py), against the sandbox
Entra over loopback with real MSAL: another instance serving the same sign-in asks Entra nothing; what is stored is
encrypted and bound to its grant, environment and user; an unreadable or nearly expired row is a miss, never an
error; and a deployment can turn sharing off."""

from __future__ import annotations

import base64

from dataverse.oauth.crypto import DecryptionError, TokenCipher, derive_key, hash_secret, parse_master_key
from dataverse.oauth.models import COLLECTIONS

from .test_oauth_obo import ENV, another_instance, signed_in


async def share_a_token(server):
    access = await signed_in(server)
    token = await server.oauth.dataverse_tokens.get_token(access, ENV)
    await server.oauth.dataverse_tokens.flush()  # the write happens in the background
    return access, token


async def test_another_instance_serves_the_same_sign_in_without_asking_entra(server):
    access, token = await share_a_token(server)
    asked = server.registry.request_counts["token"]

    assert await another_instance(server).get_token(access, ENV) == token
    assert server.registry.request_counts["token"] == asked


async def test_a_shared_token_is_encrypted_and_bound_to_its_grant_environment_and_user(server):
    access, token = await share_a_token(server)
    stored = await server.store.collection(COLLECTIONS["dataverse_tokens"]).get(
        hash_secret(f"{access.claims['grant_id']}\n{ENV}"))
    assert stored is not None and token not in str(stored.value)

    cipher = TokenCipher(derive_key(parse_master_key(server.settings.token_encryption_key, allow_ephemeral=False),
                                    "dataverse-tokens"))
    key = hash_secret(f"{access.claims['grant_id']}\n{ENV}")
    assert cipher.decrypt_json(stored.value["token"], associated_data=f"{key}\n{access.subject}") == token
    for wrong in (f"{key}\nsomeone-else", f"{hash_secret('other-grant' + chr(10) + ENV)}\n{access.subject}"):
        try:
            cipher.decrypt_json(stored.value["token"], associated_data=wrong)
        except DecryptionError:
            continue
        raise AssertionError(f"decrypted under {wrong!r}")


async def test_an_unreadable_shared_token_is_a_miss_and_entra_is_asked(server):
    access, _ = await share_a_token(server)
    collection = server.store.collection(COLLECTIONS["dataverse_tokens"])
    key = hash_secret(f"{access.claims['grant_id']}\n{ENV}")
    record = await collection.get(key)
    await collection.upsert(key, {**record.value, "token": base64.urlsafe_b64encode(b"x" * 40).decode()},
                            ttl_seconds=3600)
    asked = server.registry.request_counts["token"]

    assert await another_instance(server).get_token(access, ENV)
    assert server.registry.request_counts["token"] == asked + 1


async def test_a_shared_token_about_to_expire_is_not_used(server):
    access, _ = await share_a_token(server)
    server.clock.advance(3600 - 200)  # the Dataverse token (1 h) is inside the 5-minute renewal margin
    asked = server.registry.request_counts["token"]

    assert await another_instance(server).get_token(access, ENV)
    assert server.registry.request_counts["token"] > asked


async def test_a_deployment_that_does_not_share_keeps_tokens_in_each_instance(server):
    unshared = server.settings.model_copy(update={"share_dataverse_tokens": False})
    access = await signed_in(server)
    first = another_instance(server, unshared)
    await first.get_token(access, ENV)
    asked = server.registry.request_counts["token"]

    assert await another_instance(server, unshared).get_token(access, ENV)
    assert server.registry.request_counts["token"] == asked + 1
    assert await server.store.collection(COLLECTIONS["dataverse_tokens"]).get(
        hash_secret(f"{access.claims['grant_id']}\n{ENV}")) is None
