"""Secrets at rest and in the browser: random token minting, SHA-256 hashing of codes and tokens (only hashes are
stored), AES-GCM encryption of the user's upstream Entra tokens, and HMAC-signed values for cookies and CSRF tokens.

All keys derive from one 32-byte master key (settings.token_encryption_key, base64) with HMAC-SHA256 labels, so the
encryption key and the signing key are never the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataverse.oauth.errors import ConfigurationError, CookieError, OAuthError

_NONCE_BYTES = 12


def new_secret(prefix: str = "", *, nbytes: int = 32) -> str:
    """A URL-safe random secret with `nbytes` of entropy (256 bits by default), optionally prefixed."""
    return prefix + secrets.token_urlsafe(nbytes)


def hash_secret(value: str) -> str:
    """The storage key for a code or token: hex SHA-256. A leaked table yields nothing usable."""
    return hashlib.sha256(value.encode()).hexdigest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_master_key(encoded: str, *, allow_ephemeral: bool) -> bytes:
    """Decode settings.token_encryption_key. Empty -> a random per-process key when allowed (sandbox), else an error."""
    if not encoded:
        if allow_ephemeral:
            return os.urandom(32)
        raise ConfigurationError("TOKEN_ENCRYPTION_KEY is required (base64 of 32 random bytes)")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        try:
            key = _b64decode(encoded)
        except (binascii.Error, ValueError) as error:
            raise ConfigurationError("TOKEN_ENCRYPTION_KEY is not valid base64") from error
    if len(key) != 32:
        raise ConfigurationError("TOKEN_ENCRYPTION_KEY must decode to exactly 32 bytes")
    return key


def derive_key(master_key: bytes, label: str) -> bytes:
    """A 32-byte subkey for one purpose."""
    return hmac.new(master_key, f"dataverse-mcp/{label}".encode(), hashlib.sha256).digest()


class DecryptionError(OAuthError):
    """Ciphertext was tampered with, encrypted under another key, or bound to another record."""


class TokenCipher:
    """AES-256-GCM for small JSON payloads. `associated_data` binds a ciphertext to its record (e.g. the grant id)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt_json(self, payload: Any, *, associated_data: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, json.dumps(payload).encode(), associated_data.encode())
        return _b64encode(nonce + sealed)

    def decrypt_json(self, ciphertext: str, *, associated_data: str) -> Any:
        try:
            raw = _b64decode(ciphertext)
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data.encode())
        except (InvalidTag, ValueError, binascii.Error) as error:
            raise DecryptionError("upstream token ciphertext cannot be decrypted") from error
        return json.loads(plain)


def upstream_token_cipher(master_key: bytes) -> TokenCipher:
    """The cipher that keeps users' upstream Entra tokens at rest (inside each Grant), keyed from the master key."""
    return TokenCipher(derive_key(master_key, "upstream-tokens"))


class ValueSigner:
    """HMAC-SHA256 signed, expiring JSON values (`<payload>.<mac>`), each bound to a purpose."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def _mac(self, purpose: str, body: str) -> str:
        return _b64encode(hmac.new(self._key, f"{purpose}\n{body}".encode(), hashlib.sha256).digest())

    def sign(self, purpose: str, payload: dict[str, Any], *, ttl_seconds: int) -> str:
        body = _b64encode(json.dumps({**payload, "exp": int(self._clock()) + ttl_seconds}).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def verify(self, purpose: str, value: str | None) -> dict[str, Any]:
        """The payload of a value signed for `purpose`; CookieError when absent, forged or expired."""
        if not value or value.count(".") != 1:
            raise CookieError(f"{purpose}: missing or malformed")
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise CookieError(f"{purpose}: bad signature")
        try:
            payload = json.loads(_b64decode(body))
        except (ValueError, binascii.Error) as error:
            raise CookieError(f"{purpose}: malformed payload") from error
        if not isinstance(payload, dict) or payload.get("exp", 0) < self._clock():
            raise CookieError(f"{purpose}: expired")
        return payload

    def digest(self, purpose: str, *parts: str) -> str:
        """A deterministic MAC over `parts` (used for CSRF tokens bound to a transaction and a browser)."""
        return self._mac(purpose, "\n".join(parts))

    def check_digest(self, purpose: str, candidate: str | None, *parts: str) -> None:
        if not candidate or not hmac.compare_digest(candidate, self.digest(purpose, *parts)):
            raise CookieError(f"{purpose}: mismatch")
