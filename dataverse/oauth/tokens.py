"""Our own opaque tokens: issuing an access/refresh pair for a grant, rotating refresh tokens (a second use of one
revokes the whole grant), loading access tokens for the bearer check, and revoking grants.

Replay versus race. A spent refresh token presented again is a replay (RFC 9700 4.14.2) and revokes the grant, with
one narrow exception: a duplicate that RACED the rotation is refused (invalid_grant) without revoking, so a client
that sends the same refresh twice at once keeps the grant its winning request renewed. A duplicate raced when
  - its own request read the token while it was still unspent (it lost the ETag race, or found it spent on the
    re-read just before spending), or
  - its /token request started before the winning rotation had issued the new pair (the route records the start
    in `token_request_started_at`; the spent record keeps `rotated_at`, None while still issuing), within
    ROTATION_IN_FLIGHT_SECONDS of the spend (so a rotation that died half-way cannot shield replays for long).
A replay whose request starts after the rotation finished always revokes, however soon after. (With the in-memory
store, requests never overlap inside one process, so there every duplicate is a replay.)

Tokens are 256-bit random strings with a recognisable prefix; only their SHA-256 hashes are stored. An access token
is valid while its record is unexpired AND its grant still exists, so deleting the grant ends every token at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar

from mcp.server.auth.provider import AccessToken, TokenError
from mcp.shared.auth import OAuthToken

from dataverse.oauth.crypto import hash_secret, new_secret
from dataverse.oauth.models import AccessTokenRecord, Grant, GrantRefreshToken, RefreshTokenRecord
from dataverse.oauth.repository import OAuthRepository
from dataverse.storage.errors import ConcurrencyError, StorageError

logger = logging.getLogger(__name__)

ACCESS_TOKEN_PREFIX = "dvat_"
REFRESH_TOKEN_PREFIX = "dvrt_"
ROTATION_IN_FLIGHT_SECONDS = 10.0  # how long after a spend a duplicate may still count as racing it

token_request_started_at: ContextVar[float | None] = ContextVar("token_request_started_at", default=None)
"""When the current /token request started (set by the token route), for telling a racing duplicate from a replay."""

GrantRevokedListener = Callable[[str], None]


class TokenService:
    """Issues, rotates, loads and revokes the tokens of this authorization server."""

    def __init__(
        self,
        repository: OAuthRepository,
        *,
        issuer: str,
        access_token_ttl_seconds: int,
        refresh_token_ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repository = repository
        self._issuer = issuer
        self._access_ttl = access_token_ttl_seconds
        self._refresh_ttl = refresh_token_ttl_seconds
        self._clock = clock
        self._revocation_listeners: list[GrantRevokedListener] = []

    def add_revocation_listener(self, listener: GrantRevokedListener) -> None:
        """Called with the grant id whenever this instance revokes a grant (in-process caches drop it)."""
        self._revocation_listeners.append(listener)

    async def issue_tokens(self, grant_id: str, grant: Grant, *, scopes: list[str]) -> OAuthToken:
        now = self._clock()
        access_token = new_secret(ACCESS_TOKEN_PREFIX)
        refresh_token = new_secret(REFRESH_TOKEN_PREFIX)
        access_expires_at = now + self._access_ttl
        refresh_expires_at = min(now + self._refresh_ttl, grant.expires_at)
        await self._repository.access_tokens.create(
            hash_secret(access_token),
            AccessTokenRecord(
                grant_id=grant_id,
                client_id=grant.client_id,
                scopes=scopes,
                resource=grant.resource,
                subject=grant.subject,
                expires_at=access_expires_at,
                upn=grant.upn,
                name=grant.name,
                tid=grant.tid,
            ),
            expires_at=access_expires_at,
        )
        await self._repository.refresh_tokens.create(
            hash_secret(refresh_token),
            RefreshTokenRecord(
                grant_id=grant_id,
                client_id=grant.client_id,
                scopes=scopes,
                resource=grant.resource,
                subject=grant.subject,
                expires_at=refresh_expires_at,
            ),
            expires_at=refresh_expires_at,
        )
        return OAuthToken(
            access_token=access_token,
            token_type="Bearer",
            expires_in=self._access_ttl,
            scope=" ".join(scopes),
            refresh_token=refresh_token,
        )

    async def load_refresh_token(
        self, client_id: str, token: str, *, seen_unspent: bool = False
    ) -> tuple[GrantRefreshToken, str] | None:
        """The refresh token and its record ETag. A token used before is a replay: the grant is revoked, unless the
        duplicate raced the rotation (`seen_unspent`: this request read it unspent a moment ago; see module doc)."""
        if not token.startswith(REFRESH_TOKEN_PREFIX):
            return None
        found = await self._repository.refresh_tokens.get(hash_secret(token))
        if found is None:
            return None
        record, etag = found
        if record.client_id != client_id:
            return None
        if record.used:
            if seen_unspent or self._raced_the_rotation(record):
                logger.info("concurrent duplicate refresh of grant %s refused; grant kept", record.grant_id)
                return None
            logger.warning("refresh token reuse detected; revoking grant %s", record.grant_id)
            await self.revoke_grant(record.grant_id)
            return None
        sdk_token = GrantRefreshToken(
            token=token,
            client_id=record.client_id,
            scopes=record.scopes,
            expires_at=int(record.expires_at),
            resource=record.resource,
            subject=record.subject,
            grant_id=record.grant_id,
        )
        return sdk_token, etag

    def _raced_the_rotation(self, record: RefreshTokenRecord) -> bool:
        if record.used_at is None or self._clock() - record.used_at >= ROTATION_IN_FLIGHT_SECONDS:
            return False
        if record.rotated_at is None:
            return True  # the winning rotation is still issuing
        started_at = token_request_started_at.get()
        return started_at is not None and started_at < record.rotated_at

    async def rotate(self, refresh_token: GrantRefreshToken, etag: str, *, scopes: list[str]) -> OAuthToken:
        """Spend a refresh token (exactly once, across instances) and issue a new pair."""
        key = hash_secret(refresh_token.token)
        spent = RefreshTokenRecord(
            grant_id=refresh_token.grant_id,
            client_id=refresh_token.client_id,
            scopes=refresh_token.scopes,
            resource=refresh_token.resource or "",
            subject=refresh_token.subject or "",
            expires_at=float(refresh_token.expires_at or self._clock()),
            used=True,
            used_at=self._clock(),
        )
        try:
            await self._repository.refresh_tokens.replace(key, spent, etag=etag, expires_at=spent.expires_at)
        except ConcurrencyError as error:
            # A racing request spent it between our read and this write: a concurrent duplicate, not a replay.
            logger.info("refresh token of grant %s spent concurrently; this duplicate is refused",
                        refresh_token.grant_id)
            raise TokenError(error="invalid_grant", error_description="refresh token was already used") from error
        grant = await self.get_grant(refresh_token.grant_id)
        if grant is None:
            raise TokenError(error="invalid_grant", error_description="the grant was revoked or has expired")
        issued = await self.issue_tokens(refresh_token.grant_id, grant, scopes=scopes)
        try:  # the rotation is over: from now on a replay of the spent token revokes the grant
            await self._repository.refresh_tokens.upsert(
                key, spent.model_copy(update={"rotated_at": self._clock()}), expires_at=spent.expires_at
            )
        except StorageError:
            logger.warning("could not close the rotation of grant %s; it ends after %s s", refresh_token.grant_id,
                           ROTATION_IN_FLIGHT_SECONDS)
        return issued

    async def get_grant(self, grant_id: str) -> Grant | None:
        found = await self._repository.grants.get(grant_id)
        if found is None or found[0].expires_at <= self._clock():
            return None
        return found[0]

    async def load_access_token(self, token: str) -> AccessToken | None:
        """The access token if we issued it, it is unexpired and its grant still stands; None otherwise."""
        if not token.startswith(ACCESS_TOKEN_PREFIX):
            return None  # an Entra JWT or anything else we did not issue: no passthrough, no storage round trip
        found = await self._repository.access_tokens.get(hash_secret(token))
        if found is None:
            return None
        record = found[0]
        if record.expires_at <= self._clock():
            return None
        if await self.get_grant(record.grant_id) is None:
            return None
        return AccessToken(
            token=token,
            client_id=record.client_id,
            scopes=record.scopes,
            expires_at=int(record.expires_at),
            resource=record.resource,
            subject=record.subject,
            claims={
                "upn": record.upn,
                "name": record.name,
                "tid": record.tid,
                "grant_id": record.grant_id,
                "iss": self._issuer,
            },
        )

    async def revoke_access_token(self, token: str) -> None:
        await self._repository.access_tokens.delete(hash_secret(token))

    async def revoke_grant(self, grant_id: str) -> None:
        """End a grant: every access and refresh token issued under it stops working (other instances within the
        bearer cache bound, 60 s). Idempotent."""
        await self._repository.grants.delete(grant_id)
        for listener in self._revocation_listeners:
            listener(grant_id)

