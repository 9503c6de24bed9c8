"""The one place dataverse.oauth touches storage: a typed collection per record kind (see models.COLLECTIONS), every
consume-once step done with an ETag so that of two racing instances exactly one wins."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel

from dataverse.oauth.models import (
    COLLECTIONS,
    AccessTokenRecord,
    AuthCodeRecord,
    AuthTransaction,
    ClientRecord,
    Grant,
    RefreshTokenRecord,
    UpstreamAuthState,
)
from dataverse.storage.errors import ConcurrencyError, RecordNotFoundError

ModelT = TypeVar("ModelT", bound=BaseModel)


class Table(Generic[ModelT]):
    """One collection of `model` records with absolute expiry times (converted to the store's TTLs)."""

    def __init__(self, store, name: str, model: type[ModelT], *, clock: Callable[[], float]) -> None:
        self._collection = store.collection(name)
        self._model = model
        self._clock = clock

    def _ttl(self, expires_at: float | None) -> float | None:
        return None if expires_at is None else max(expires_at - self._clock(), 1.0)

    async def get(self, key: str) -> tuple[ModelT, str] | None:
        record = await self._collection.get(key)
        return None if record is None else (self._model.model_validate(record.value), record.etag)

    async def create(self, key: str, item: ModelT, *, expires_at: float | None) -> None:
        await self._collection.create(key, item.model_dump(mode="json"), ttl_seconds=self._ttl(expires_at))

    async def upsert(self, key: str, item: ModelT, *, expires_at: float | None) -> None:
        await self._collection.upsert(key, item.model_dump(mode="json"), ttl_seconds=self._ttl(expires_at))

    async def replace(self, key: str, item: ModelT, *, etag: str, expires_at: float | None) -> None:
        """Raises ConcurrencyError when someone else changed (or removed) the record first."""
        try:
            await self._collection.replace(
                key, item.model_dump(mode="json"), etag=etag, ttl_seconds=self._ttl(expires_at)
            )
        except RecordNotFoundError as error:
            raise ConcurrencyError(str(error)) from error

    async def consume(self, key: str) -> ModelT | None:
        """Read and delete in one step; None when absent, expired, or another caller consumed it first."""
        record = await self._collection.consume(key)
        return None if record is None else self._model.model_validate(record.value)

    async def delete(self, key: str) -> bool:
        """True when something was deleted."""
        try:
            await self._collection.delete(key)
        except RecordNotFoundError:
            return False
        return True


class OAuthRepository:
    """All proxy collections of one store."""

    def __init__(self, store, *, clock: Callable[[], float] = time.time) -> None:
        self.clients = Table(store, COLLECTIONS["clients"], ClientRecord, clock=clock)
        self.transactions = Table(store, COLLECTIONS["transactions"], AuthTransaction, clock=clock)
        self.states = Table(store, COLLECTIONS["states"], UpstreamAuthState, clock=clock)
        self.codes = Table(store, COLLECTIONS["codes"], AuthCodeRecord, clock=clock)
        self.grants = Table(store, COLLECTIONS["grants"], Grant, clock=clock)
        self.refresh_tokens = Table(store, COLLECTIONS["refresh_tokens"], RefreshTokenRecord, clock=clock)
        self.access_tokens = Table(store, COLLECTIONS["access_tokens"], AccessTokenRecord, clock=clock)


__all__ = ["ConcurrencyError", "OAuthRepository", "Table"]
