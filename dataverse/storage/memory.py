"""The in-memory store: the same contract as Table Storage, for the sandbox, local runs and tests.

Data lives in this process only, so it suits one process (a serverless deployment must use Table Storage). Every
method is atomic under asyncio because none awaits between reading and writing. Values are stored as the same JSON
text Table Storage would hold, so size limits and JSON round-trip behaviour match; ETags change on every write.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .codec import decode_value, encode_value, expiry_time, is_expired, validate_collection_name, validate_key
from .errors import ConcurrencyError, RecordExistsError, RecordNotFoundError
from .protocol import Record


@dataclass(frozen=True)
class _Stored:
    text: str
    etag: str
    expires_at: float | None

    def to_record(self, key: str) -> Record:
        return Record(key=key, value=decode_value(self.text), etag=self.etag, expires_at=self.expires_at)


class MemoryCollection:
    """One named collection held in a dict."""

    def __init__(self, name: str, *, clock: Callable[[], float], new_etag: Callable[[], str]) -> None:
        self.name = name
        self._clock = clock
        self._new_etag = new_etag
        self._rows: dict[str, _Stored] = {}

    def _write(self, key: str, value: dict[str, Any], ttl_seconds: float | None) -> Record:
        stored = _Stored(encode_value(value), self._new_etag(), expiry_time(self._clock(), ttl_seconds))
        self._rows[key] = stored
        return stored.to_record(key)

    def _live(self, key: str) -> _Stored | None:
        stored = self._rows.get(validate_key(key))
        if stored is None or is_expired(stored.expires_at, self._clock()):
            return None
        return stored

    async def get(self, key: str) -> Record | None:
        stored = self._live(key)
        return stored.to_record(key) if stored else None

    async def create(self, key: str, value: dict[str, Any], *, ttl_seconds: float | None = None) -> Record:
        if self._live(key) is not None:
            raise RecordExistsError(f"{self.name}: a record with this key already exists")
        return self._write(key, value, ttl_seconds)

    async def upsert(self, key: str, value: dict[str, Any], *, ttl_seconds: float | None = None) -> Record:
        return self._write(validate_key(key), value, ttl_seconds)

    def _check_etag(self, key: str, etag: str | None) -> None:
        stored = self._rows.get(validate_key(key))
        if stored is None:
            raise RecordNotFoundError(f"{self.name}: no record with this key")
        if etag is not None and stored.etag != etag:
            raise ConcurrencyError(f"{self.name}: the record changed since it was read")

    async def replace(self, key: str, value: dict[str, Any], *, etag: str, ttl_seconds: float | None = None) -> Record:
        self._check_etag(key, etag)
        return self._write(key, value, ttl_seconds)

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        self._check_etag(key, etag)
        del self._rows[key]

    async def consume(self, key: str) -> Record | None:
        stored = self._rows.pop(validate_key(key), None)
        if stored is None or is_expired(stored.expires_at, self._clock()):
            return None
        return stored.to_record(key)

    async def list_expired(self, *, now: float | None = None, limit: int = 1000) -> list[Record]:
        instant = self._clock() if now is None else now
        expired = (
            stored.to_record(key) for key, stored in self._rows.items() if is_expired(stored.expires_at, instant)
        )
        return list(itertools.islice(expired, limit))

    async def purge_expired(self, *, now: float | None = None) -> int:
        instant = self._clock() if now is None else now
        expired = [key for key, stored in self._rows.items() if is_expired(stored.expires_at, instant)]
        for key in expired:
            del self._rows[key]
        return len(expired)


class MemoryStore:
    """Collections in a dict; `clock` (epoch seconds) is injectable so tests can move time."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._collections: dict[str, MemoryCollection] = {}
        self._etag_counter = itertools.count(1)

    def _new_etag(self) -> str:
        return f'W/"{next(self._etag_counter)}-{uuid.uuid4().hex}"'

    def collection(self, name: str) -> MemoryCollection:
        validate_collection_name(name)
        folded = name.lower()  # Azure table names are case-insensitive; so are these
        if folded not in self._collections:
            self._collections[folded] = MemoryCollection(name, clock=self._clock, new_etag=self._new_etag)
        return self._collections[folded]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
