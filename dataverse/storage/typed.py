"""Typed access to a collection: pydantic models in, pydantic models out, JSON in between.

Each OAuth state record (client, transaction, code, grant, refresh token) is a pydantic model stored in its own
collection through a `TypedCollection[Model]`; it round-trips with `model_dump(mode="json")` / `model_validate`.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from .protocol import Collection, Record

M = TypeVar("M", bound=BaseModel)


class TypedCollection(Generic[M]):
    """A `Collection` whose values are instances of `model`. Write methods return the new ETag."""

    def __init__(self, collection: Collection, model: type[M]) -> None:
        self.collection = collection
        self.model = model

    def _load(self, record: Record) -> M:
        return self.model.model_validate(record.value)

    def _dump(self, item: M) -> dict:
        if not isinstance(item, self.model):
            raise TypeError(f"expected {self.model.__name__}, got {type(item).__name__}")
        return item.model_dump(mode="json")

    async def get(self, key: str) -> tuple[M, str] | None:
        """(item, etag), or None when absent or expired."""
        record = await self.collection.get(key)
        return None if record is None else (self._load(record), record.etag)

    async def create(self, key: str, item: M, *, ttl_seconds: float | None = None) -> str:
        return (await self.collection.create(key, self._dump(item), ttl_seconds=ttl_seconds)).etag

    async def upsert(self, key: str, item: M, *, ttl_seconds: float | None = None) -> str:
        return (await self.collection.upsert(key, self._dump(item), ttl_seconds=ttl_seconds)).etag

    async def replace(self, key: str, item: M, *, etag: str, ttl_seconds: float | None = None) -> str:
        return (await self.collection.replace(key, self._dump(item), etag=etag, ttl_seconds=ttl_seconds)).etag

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        await self.collection.delete(key, etag=etag)

    async def consume(self, key: str) -> M | None:
        """Atomically take the item (see `Collection.consume`)."""
        record = await self.collection.consume(key)
        return None if record is None else self._load(record)
