"""The bearer check for /mcp: a python-sdk `TokenVerifier` that accepts only access tokens this server issued, for
this resource, unexpired and under a grant that still stands. Anything else — an Entra JWT, a token for another
resource, a revoked or expired token — is refused (no token passthrough).

Verified tokens are cached per instance for at most `cache_seconds` (60 s by default, never past the token's own
expiry), so steady-state requests make no storage round trip. The price, by design: a grant revoked on ANOTHER
instance keeps working here for up to `cache_seconds`; revocations made on this instance take effect at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from mcp.server.auth.provider import AccessToken

from dataverse.oauth.crypto import hash_secret
from dataverse.oauth.resources import is_same_resource
from dataverse.oauth.tokens import TokenService

MAX_CACHE_SECONDS = 60.0


class CachingTokenVerifier:
    """TokenVerifier over TokenService with a short per-instance cache."""

    def __init__(
        self,
        tokens: TokenService,
        *,
        resource: str,
        cache_seconds: float = MAX_CACHE_SECONDS,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"cache_seconds must be between 0 and {MAX_CACHE_SECONDS}")
        self._tokens = tokens
        self._resource = resource
        self._cache_seconds = cache_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[AccessToken, float]] = OrderedDict()
        tokens.add_revocation_listener(self.forget_grant)

    async def verify_token(self, token: str) -> AccessToken | None:
        key = hash_secret(token)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[key]
        access = await self._tokens.load_access_token(token)
        if access is None or not is_same_resource(access.resource or "-", self._resource):
            return None
        if access.expires_at is not None and access.expires_at <= now:
            return None
        until = now + self._cache_seconds
        if access.expires_at is not None:
            until = min(until, float(access.expires_at))
        self._cache[key] = (access, until)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return access

    def forget_grant(self, grant_id: str) -> None:
        """Drop cached tokens of a revoked grant (called by TokenService on this instance)."""
        stale = [key for key, (access, _) in self._cache.items() if (access.claims or {}).get("grant_id") == grant_id]
        for key in stale:
            del self._cache[key]
