"""Signing and checking of sandbox JWTs (RS256): the one key the sandbox Entra ID signs with and the sandbox Dataverse
trusts. The key is made once per process; nothing here is ever used outside sandbox mode and the tests."""

from __future__ import annotations

import base64
import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from dataverse.sandbox.users import SANDBOX_TENANT_ID, SandboxUser


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair with a key id, published as a JWKS."""

    private_key: rsa.RSAPrivateKey
    kid: str

    @property
    def jwks(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, *, audience: str, issuer: str | None = None) -> dict[str, Any]:
        """Claims of a token this key signed for `audience`; raises jwt.InvalidTokenError otherwise."""
        return jwt.decode(
            token,
            self.private_key.public_key(),
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "aud", "iss"]},
            leeway=5,
        )


@functools.cache
def process_signing_key() -> SigningKey:
    """The process-wide sandbox signing key (2048-bit RSA, made on first use)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(private_key=key, kid=uuid.uuid4().hex[:16])


def sandbox_issuer(authority_host: str, tenant_id: str = SANDBOX_TENANT_ID) -> str:
    """The v2 issuer string for the sandbox tenant under an authority host."""
    return f"{authority_host.rstrip('/')}/{tenant_id}/v2.0"


def mint_user_token(
    user: SandboxUser,
    *,
    audience: str,
    issuer: str,
    scopes: list[str],
    client_id: str,
    lifetime_seconds: int = 3600,
    key: SigningKey | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """A v2-shaped access token for a sandbox user, as Entra would issue it."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_seconds,
        "oid": user.object_id,
        "sub": user.object_id,
        "tid": SANDBOX_TENANT_ID,
        "upn": user.upn,
        "preferred_username": user.upn,
        "name": user.full_name,
        "scp": " ".join(scopes),
        "azp": client_id,
        "ver": "2.0",
        "uti": uuid.uuid4().hex,
    }
    claims.update(extra_claims or {})
    return (key or process_signing_key()).sign(claims)
