"""The store contract: a `Store` hands out named `Collection`s of JSON records with ETags and optional expiry.

Every consume-once record (authorization codes, transactions, proposals, rotated refresh tokens) goes through
`consume` or ETag-conditional `replace`/`delete`, so two serverless instances racing can never both win.

Expiry is checked on read: `get` and `consume` treat an expired record as absent and `create` may take its key.
`replace` and `delete` act on whatever is stored under the ETag the caller holds, expired or not; `purge_expired`
removes expired records for good (a timer sweeps them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Record:
    """One stored record as a collection returns it. `value` is the caller's own copy."""

    key: str
    value: dict[str, Any]
    etag: str
    expires_at: float | None  # epoch seconds; None = never expires


@runtime_checkable
class Collection(Protocol):
    """One named collection (one Azure table). Keys are opaque strings; any non-empty Unicode string works."""

    name: str

    async def get(self, key: str) -> Record | None:
        """The record, or None when absent or expired."""
        ...

    async def create(self, key: str, value: dict[str, Any], *, ttl_seconds: float | None = None) -> Record:
        """Store a new record; RecordExistsError when the key holds an unexpired record."""
        ...

    async def upsert(self, key: str, value: dict[str, Any], *, ttl_seconds: float | None = None) -> Record:
        """Store unconditionally, replacing any record under the key."""
        ...

    async def replace(self, key: str, value: dict[str, Any], *, etag: str, ttl_seconds: float | None = None) -> Record:
        """Replace the record only if its ETag still matches: ConcurrencyError if not, RecordNotFoundError if gone."""
        ...

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete (only if the ETag matches, when given): ConcurrencyError / RecordNotFoundError."""
        ...

    async def consume(self, key: str) -> Record | None:
        """Atomically take the record: exactly one caller among racers gets it; others (and absent/expired) get None."""
        ...

    async def list_expired(self, *, now: float | None = None, limit: int = 1000) -> list[Record]:
        """Up to `limit` records whose expiry is at or before `now` (default: the store's clock)."""
        ...

    async def purge_expired(self, *, now: float | None = None) -> int:
        """Delete every expired record (ETag-conditional, so a record renewed meanwhile survives); return the count."""
        ...


@runtime_checkable
class Store(Protocol):
    """A set of collections sharing one backend connection."""

    def collection(self, name: str) -> Collection:
        """The collection `name` ([A-Za-z][A-Za-z0-9]{2,62}); the same object for the same name."""
        ...

    async def ping(self) -> None:
        """Return if storage answers; raise StorageUnavailableError if not (for /health)."""
        ...

    async def close(self) -> None:
        """Release connections. The store is not used afterwards."""
        ...
