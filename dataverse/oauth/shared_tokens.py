"""Dataverse tokens obtained On-Behalf-Of, shared by every instance through Table Storage.

Without it, the first tool call a fresh instance serves for a user pays for MSAL (imported and its client built on
first use), the tenant's OpenID configuration and the On-Behalf-Of exchange: two Entra round trips and a tenth of a
second of imports, although another instance holds a valid token for the same sign-in. With it, that call makes one
storage read instead (the measurement is in the README's design notes and `make bench`).

A token is stored under the SHA-256 of its grant id and environment URL, encrypted with AES-GCM under its own key
(derived from TOKEN_ENCRYPTION_KEY, label "dataverse-tokens") and bound to that key and the user's object id, so a row
copied elsewhere does not decrypt. It expires with the token; the sweeper purges it. Only a call whose access token
passed the bearer check reaches it, and the bearer check requires the grant to stand, so a revoked grant's rows are
unreachable until they expire. Writes happen in the background and are best effort: a failed one only means the next
instance asks Entra, as it would without sharing. Any failure to read is a miss, never an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from dataverse.oauth.crypto import DecryptionError, TokenCipher, hash_secret
from dataverse.oauth.models import SharedDataverseToken
from dataverse.storage.errors import StorageError
from dataverse.storage.typed import TypedCollection

logger = logging.getLogger(__name__)


class SharedDataverseTokens:
    """Read and write the shared, encrypted Dataverse tokens of one deployment."""

    def __init__(self, collection: TypedCollection[SharedDataverseToken], cipher: TokenCipher, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._collection = collection
        self._cipher = cipher
        self._clock = clock
        self._writes: set[asyncio.Task[None]] = set()

    @staticmethod
    def _key(grant_id: str, environment: str) -> str:
        return hash_secret(f"{grant_id}\n{environment}")

    async def get(self, *, grant_id: str, subject: str, environment: str) -> tuple[str, float] | None:
        """(token, expires_at) another instance stored for this grant and environment, or None."""
        key = self._key(grant_id, environment)
        try:
            found = await self._collection.get(key)
        except StorageError:
            logger.warning("shared Dataverse token unreadable; asking Entra", exc_info=True)
            return None
        if found is None or found.item.expires_at <= self._clock():
            return None
        try:
            token = self._cipher.decrypt_json(found.item.token, associated_data=f"{key}\n{subject}")
        except DecryptionError:
            logger.warning("shared Dataverse token does not decrypt (key changed?); asking Entra")
            return None
        return str(token), found.item.expires_at

    def put(self, *, grant_id: str, subject: str, environment: str, token: str, expires_at: float) -> None:
        """Store a token for the other instances, in the background."""
        key = self._key(grant_id, environment)
        record = SharedDataverseToken(
            token=self._cipher.encrypt_json(token, associated_data=f"{key}\n{subject}"), expires_at=expires_at
        )
        task = asyncio.get_running_loop().create_task(self._write(key, record))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, key: str, record: SharedDataverseToken) -> None:
        try:
            await self._collection.upsert(key, record, expires_at=record.expires_at)
        except StorageError:
            logger.warning("could not share a Dataverse token; other instances will ask Entra", exc_info=True)

    async def flush(self) -> None:
        """Wait for the background writes (tests; shutdown)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)
