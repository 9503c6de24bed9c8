"""The tokens the sandbox Entra issues: v2 access tokens for the exposed API (aud api://<client-id>) or a Dataverse
environment (aud = the environment URL, scp user_impersonation), id_tokens, and the token-endpoint JSON that carries
them. All are RS256, signed with the process sandbox key from dataverse/sandbox/identity.py."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from dataverse.sandbox.entra.registry import ACCESS_TOKEN_TTL_SECONDS, SandboxApp, SandboxAppRegistry
from dataverse.sandbox.entra.scopes import ScopeRequest
from dataverse.sandbox.identity import mint_user_token, process_signing_key
from dataverse.sandbox.users import SANDBOX_TENANT_ID, SandboxUser


def mint_access_token(user: SandboxUser, *, request: ScopeRequest, client_id: str, issuer: str) -> str:
    return mint_user_token(
        user,
        audience=request.resource,
        issuer=issuer,
        scopes=list(request.permissions),
        client_id=client_id,
        lifetime_seconds=ACCESS_TOKEN_TTL_SECONDS,
    )


def mint_id_token(
    user: SandboxUser, *, client_id: str, issuer: str, nonce: str | None, overrides: dict[str, Any]
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + ACCESS_TOKEN_TTL_SECONDS,
        "oid": user.object_id,
        "sub": user.object_id,
        "tid": SANDBOX_TENANT_ID,
        "preferred_username": user.upn,
        "name": user.full_name,
        "ver": "2.0",
    }
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(overrides)
    return process_signing_key().sign(claims)


def _client_info(user: SandboxUser) -> str:
    raw = json.dumps({"uid": user.object_id, "utid": SANDBOX_TENANT_ID}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def build_token_response(
    *,
    registry: SandboxAppRegistry,
    app: SandboxApp,
    user: SandboxUser,
    request: ScopeRequest,
    issuer: str,
    nonce: str | None = None,
    issue_refresh_token: bool = True,
) -> dict[str, Any]:
    """The JSON body Entra answers a successful token request with."""
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(request.scope_strings),
        "expires_in": ACCESS_TOKEN_TTL_SECONDS,
        "ext_expires_in": ACCESS_TOKEN_TTL_SECONDS,
        "access_token": mint_access_token(user, request=request, client_id=app.client_id, issuer=issuer),
        "client_info": _client_info(user),
    }
    if issue_refresh_token and "offline_access" in request.oidc:
        body["refresh_token"] = registry.create_refresh_token(
            client_id=app.client_id, user=user, scopes=(*request.scope_strings, *sorted(request.oidc))
        )
    if "openid" in request.oidc:
        body["id_token"] = mint_id_token(
            user, client_id=app.client_id, issuer=issuer, nonce=nonce, overrides=registry.id_token_claim_overrides
        )
    return body


def mint_managed_identity_assertion(
    *, principal_id: str, tenant_id: str = SANDBOX_TENANT_ID, lifetime_seconds: int = 600,
    audience: str = "api://AzureADTokenExchange",
) -> str:
    """What a user-assigned managed identity's token for api://AzureADTokenExchange looks like, signed by the
    sandbox key: the client assertion a FederatedCredential(issuer=<tenant v2 issuer>, subject=principal_id) trusts."""
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://login.microsoftonline.com/{tenant_id}/v2.0",
        "sub": principal_id,
        "oid": principal_id,
        "tid": tenant_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_seconds,
    }
    return process_signing_key().sign(claims)
