"""The one typed adapter for stored records: a pydantic model per collection, absolute expiry, ETag-conditional
replace and consume-once. OAuth state (`dataverse.oauth.repository`) and the proposals of
two-step changes (`dataverse.tools.confirm.proposals`) are both stored through it.

`TypedCollection(collection, Model, clock=...)` writes `Model` instances as JSON (`model_dump(mode="json")`) and
validates what it reads (`model_validate`). Every write says when the record expires, as an absolute instant in
epoch seconds (None: never); the adapter turns that into the store's time-to-live with its clock, or with the `now`
the caller read from its own clock. A record whose expiry has already passed is still written, for
`MIN_TTL_SECONDS`, so that a late write is never an error.

    get(key)                                   Stored(item, etag), or None when absent or expired
    create(key, item, *, expires_at)           the new ETag; RecordExistsError when the key holds a live record
    upsert(key, item, *, expires_at)           the new ETag, whatever was stored
    replace(key, item, *, etag, expires_at)    the new ETag; ConcurrencyError when the record changed since `etag`
                                               was read, RecordGoneError (a ConcurrencyError) when it is gone
    delete(key, *, etag=None)                  True when a record was deleted; with `etag`, only that version
                                               (ConcurrencyError / RecordGoneError otherwise)
    consume(key)                               Stored(item, etag) for exactly one of any number of racing callers
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel

from .errors import RecordGoneError, RecordNotFoundError
from .protocol import Collection, Record

ModelT = TypeVar("ModelT", bound=BaseModel)

MIN_TTL_SECONDS = 1.0


class Stored(NamedTuple, Generic[ModelT]):
    """A record as read: the validated item and the ETag that a conditional replace or delete must quote."""

    item: ModelT
    etag: str


class TypedCollection(Generic[ModelT]):
    """One collection whose values are instances of `model`, with absolute expiry times."""

    def __init__(
        self, collection: Collection, model: type[ModelT], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._collection = collection
        self._model = model
        self._clock = clock

    def _ttl(self, expires_at: float | None, now: float | None) -> float | None:
        if expires_at is None:
            return None
        return max(expires_at - (self._clock() if now is None else now), MIN_TTL_SECONDS)

    def _dump(self, item: ModelT) -> dict[str, Any]:
        if not isinstance(item, self._model):
            raise TypeError(f"expected {self._model.__name__}, got {type(item).__name__}")
        return item.model_dump(mode="json")

    def _load(self, record: Record) -> Stored[ModelT]:
        return Stored(self._model.model_validate(record.value), record.etag)

    async def get(self, key: str) -> Stored[ModelT] | None:
        """The item and its ETag, or None when nothing live is stored under `key`."""
        record = await self._collection.get(key)
        return None if record is None else self._load(record)

    async def create(self, key: str, item: ModelT, *, expires_at: float | None, now: float | None = None) -> str:
        """Store a new record; RecordExistsError when `key` holds a record that has not expired."""
        written = await self._collection.create(key, self._dump(item), ttl_seconds=self._ttl(expires_at, now))
        return written.etag

    async def upsert(self, key: str, item: ModelT, *, expires_at: float | None, now: float | None = None) -> str:
        """Store unconditionally, replacing whatever `key` held."""
        written = await self._collection.upsert(key, self._dump(item), ttl_seconds=self._ttl(expires_at, now))
        return written.etag

    async def replace(
        self, key: str, item: ModelT, *, etag: str, expires_at: float | None, now: float | None = None
    ) -> str:
        """Replace the version read with `etag`: ConcurrencyError when someone else changed it first,
        RecordGoneError (a ConcurrencyError) when someone else deleted or consumed it."""
        try:
            written = await self._collection.replace(
                key, self._dump(item), etag=etag, ttl_seconds=self._ttl(expires_at, now)
            )
        except RecordNotFoundError as error:
            raise RecordGoneError(str(error)) from error
        return written.etag

    async def delete(self, key: str, *, etag: str | None = None) -> bool:
        """Delete the record; True when one was deleted, False when none was stored. With `etag`, delete only that
        version: ConcurrencyError when it changed, RecordGoneError when it is already gone."""
        try:
            await self._collection.delete(key, etag=etag)
        except RecordNotFoundError as error:
            if etag is None:
                return False
            raise RecordGoneError(str(error)) from error
        return True

    async def consume(self, key: str) -> Stored[ModelT] | None:
        """Read and delete in one step: exactly one of any number of racing callers gets the record; the others,
        and every caller when it is absent or expired, get None."""
        record = await self._collection.consume(key)
        return None if record is None else self._load(record)
