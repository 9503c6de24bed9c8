"""On-Behalf-Of: the Dataverse token for a tool call, obtained from the user's upstream Entra token.

`DataverseTokenService.get_token(access_token, environment_url)`:
1. an in-process cache per (tenant, user, environment) answers until 5 minutes before the Dataverse token expires,
   so the steady state makes no Entra call and no storage call;
2. otherwise the token another instance obtained for this grant and environment, shared through storage (encrypted;
   shared_tokens.py), answers under the same margin: a fresh instance makes one storage read, no Entra call;
3. otherwise the grant is loaded and its upstream Entra access token decrypted; if that has expired it is refreshed
   with the stored refresh token and the rotated set saved with an ETag replace — when another instance won that
   race, its tokens are re-read and used (Entra may already have invalidated the refresh token we hold);
4. then OBO for `<environment_url>/user_impersonation`, and the token is shared for the other instances.
Concurrent calls for one key in this process share one upstream round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mcp.server.auth.provider import AccessToken

from dataverse.oauth.crypto import DecryptionError, TokenCipher
from dataverse.oauth.entra import EntraApi, EntraError, EntraUnavailableError
from dataverse.oauth.errors import (
    AdminConsentRequiredError,
    DataverseTokenError,
    GrantExpiredError,
    UpstreamUnavailableError,
)
from dataverse.oauth.models import Grant, UpstreamTokenSet
from dataverse.oauth.repository import OAuthRepository
from dataverse.oauth.shared_tokens import SharedDataverseTokens
from dataverse.storage.errors import ConcurrencyError, StorageUnavailableError

logger = logging.getLogger(__name__)

DATAVERSE_TOKEN_MARGIN_SECONDS = 300.0
UPSTREAM_TOKEN_MARGIN_SECONDS = 60.0
RACE_REREAD_ATTEMPTS = 10  # after a refused refresh, how long to wait for a racing instance's renewal to land
RACE_REREAD_INTERVAL_SECONDS = 0.2


class DataverseTokenService:
    """Dataverse access tokens On-Behalf-Of signed-in users."""

    def __init__(
        self,
        *,
        repository: OAuthRepository,
        entra: EntraApi,
        cipher: TokenCipher,
        clock: Callable[[], float] = time.time,
        shared: SharedDataverseTokens | None = None,
    ) -> None:
        self._repository = repository
        self._shared = shared
        self._entra = entra
        self._cipher = cipher
        self._clock = clock
        self._cache: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._keys_by_grant: dict[str, set[tuple[str, str, str]]] = {}

    async def get_token(self, access_token: AccessToken, environment_url: str) -> str:
        """A Dataverse bearer token for the user behind `access_token` at `environment_url`."""
        claims = access_token.claims or {}
        grant_id = str(claims.get("grant_id") or "")
        if not grant_id or not access_token.subject:
            raise GrantExpiredError("the access token carries no grant")
        environment = environment_url.rstrip("/")
        key = (str(claims.get("tid") or ""), access_token.subject, environment)
        cached = self._fresh(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._fresh(key)
            if cached is not None:
                return cached
            token, expires_at = await self._shared_or_new(grant_id, access_token.subject, environment)
            self._cache[key] = (token, float(expires_at))
            self._keys_by_grant.setdefault(grant_id, set()).add(key)
            return token

    async def _shared_or_new(self, grant_id: str, subject: str, environment: str) -> tuple[str, float]:
        if self._shared is not None:
            found = await self._shared.get(grant_id=grant_id, subject=subject, environment=environment)
            if found is not None and found[1] - DATAVERSE_TOKEN_MARGIN_SECONDS > self._clock():
                return found
        upstream_access_token = await self._upstream_access_token(grant_id, subject)
        token, expires_at = await self._on_behalf_of(upstream_access_token, environment)
        if self._shared is not None:
            self._shared.put(grant_id=grant_id, subject=subject, environment=environment, token=token,
                             expires_at=float(expires_at))
        return token, float(expires_at)

    async def flush(self) -> None:
        """Wait until the tokens being shared with the other instances are written (shutdown; tests)."""
        if self._shared is not None:
            await self._shared.flush()

    def forget_grant(self, grant_id: str) -> None:
        """Drop the cached Dataverse tokens obtained through a grant (it was revoked on this instance)."""
        for key in self._keys_by_grant.pop(grant_id, set()):
            self._cache.pop(key, None)

    def _fresh(self, key: tuple[str, str, str]) -> str | None:
        cached = self._cache.get(key)
        if cached is not None and cached[1] - DATAVERSE_TOKEN_MARGIN_SECONDS > self._clock():
            return cached[0]
        return None

    async def _load(self, grant_id: str, subject: str) -> tuple[Grant, str, UpstreamTokenSet]:
        try:
            found = await self._repository.grants.get(grant_id)
        except StorageUnavailableError as error:
            raise UpstreamUnavailableError("token storage is unavailable") from error
        if found is None or found[0].expires_at <= self._clock() or found[0].subject != subject:
            raise GrantExpiredError("the sign-in has expired or was revoked; sign in again")
        grant, etag = found
        try:
            upstream = UpstreamTokenSet.model_validate(
                self._cipher.decrypt_json(grant.upstream, associated_data=grant_id)
            )
        except DecryptionError as error:
            raise GrantExpiredError("the stored sign-in cannot be read (key changed?); sign in again") from error
        return grant, etag, upstream

    async def _upstream_access_token(self, grant_id: str, subject: str) -> str:
        grant, etag, upstream = await self._load(grant_id, subject)
        if upstream.expires_at - UPSTREAM_TOKEN_MARGIN_SECONDS > self._clock():
            return upstream.access_token
        if not upstream.refresh_token:
            raise GrantExpiredError("the Entra sign-in expired and cannot be renewed; sign in again")
        try:
            renewed = await self._entra.refresh(upstream.refresh_token)
        except EntraUnavailableError as error:
            raise UpstreamUnavailableError("Microsoft Entra ID is unreachable; try again shortly") from error
        except EntraError as error:
            # Perhaps another instance redeemed this refresh token a moment ago: its result lands in storage.
            for _ in range(RACE_REREAD_ATTEMPTS):
                latest_grant, _, latest = await self._load(grant_id, subject)
                if latest_grant.upstream != grant.upstream:
                    return latest.access_token
                await asyncio.sleep(RACE_REREAD_INTERVAL_SECONDS)
            raise GrantExpiredError(f"Entra refused to renew the sign-in ({error}); sign in again") from error
        token_set = UpstreamTokenSet(
            access_token=renewed.access_token,
            refresh_token=renewed.refresh_token or upstream.refresh_token,
            expires_at=float(renewed.expires_at),
            scope=renewed.scope if isinstance(renewed.scope, str) else " ".join(renewed.scope or []),
        )
        updated = grant.model_copy(
            update={"upstream": self._cipher.encrypt_json(token_set.model_dump(), associated_data=grant_id)}
        )
        try:
            await self._repository.grants.replace(grant_id, updated, etag=etag, expires_at=grant.expires_at)
        except ConcurrencyError:
            winner_grant, _, winner = await self._load(grant_id, subject)
            logger.info("grant %s was renewed concurrently; using the stored tokens", grant_id)
            if winner_grant.upstream != grant.upstream:
                return winner.access_token
        except StorageUnavailableError:
            logger.warning("could not persist renewed upstream tokens of grant %s", grant_id)
        return token_set.access_token

    async def _on_behalf_of(self, upstream_access_token: str, environment: str) -> tuple[str, float]:
        try:
            return await self._entra.acquire_on_behalf_of(
                user_assertion=upstream_access_token, scopes=[f"{environment}/user_impersonation"]
            )
        except EntraUnavailableError as error:
            raise UpstreamUnavailableError("Microsoft Entra ID is unreachable; try again shortly") from error
        except EntraError as error:
            if getattr(error, "admin_consent_required", False):
                raise AdminConsentRequiredError(environment) from error
            if getattr(error, "interaction_required", False) or getattr(error, "error", "") == "invalid_grant":
                raise GrantExpiredError("Entra requires a fresh sign-in; sign in again") from error
            raise DataverseTokenError(f"Entra refused a Dataverse token for {environment}: {error}") from error
