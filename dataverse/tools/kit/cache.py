"""An in-process, bounded TTL cache for things the tools can always rebuild from Dataverse: who the caller is and the
environment's schema. Nothing here must survive a restart; losing it costs one extra Dataverse call.

Keys: ("whoami", environment, user) for 24 h; ("tables", environment) for 24 h; ("table", environment, logical name),
("columns", environment, logical name) and ("datetime", environment, logical name) for 1 h.
`clear_schema(environment)` drops that environment's schema
entries (the `refresh_schema` tool).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from dataverse.webapi.models import TableMetadata

T = TypeVar("T")

WHOAMI_TTL_SECONDS = 24 * 3600
TABLE_LIST_TTL_SECONDS = 24 * 3600
TABLE_METADATA_TTL_SECONDS = 3600
SCHEMA_KEYS = ("tables", "table", "columns", "datetime")


class TTLCache:
    """A least-recently-used map whose entries also expire; at most `max_entries` live at once."""

    def __init__(self, *, max_entries: int = 2048, clock: Callable[[], float] = time.time):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        try:
            self.get(key)
        except KeyError:
            return False
        return True

    def get(self, key: Hashable) -> Any:
        """The live value under `key`; KeyError if absent or expired."""
        expires_at, value = self._entries[key]
        if expires_at <= self._clock():
            del self._entries[key]
            raise KeyError(key)
        self._entries.move_to_end(key)
        return value

    def set(self, key: Hashable, value: Any, *, ttl_seconds: float) -> None:
        self._entries[key] = (self._clock() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def delete_where(self, predicate: Callable[[Hashable], bool]) -> int:
        """Remove every entry whose key satisfies `predicate`; returns how many were removed."""
        doomed = [key for key in self._entries if predicate(key)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    async def get_or_create(self, key: Hashable, create: Callable[[], Awaitable[T]], *, ttl_seconds: float) -> T:
        """The cached value, or `await create()` stored for `ttl_seconds`. Concurrent misses on one key share one
        call; a failing `create` caches nothing."""
        try:
            return cast(T, self.get(key))
        except KeyError:
            pass
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                try:
                    return cast(T, self.get(key))
                except KeyError:
                    value = await create()
                    self.set(key, value, ttl_seconds=ttl_seconds)
                    return value
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]


class MetadataCache:
    """Typed access to the cache entries the tools use, so key shapes and lifetimes live in one place."""

    def __init__(self, cache: TTLCache):
        self._cache = cache

    async def get_whoami(self, environment: str, user: str, create: Callable[[], Awaitable[T]]) -> T:
        return await self._cache.get_or_create(("whoami", environment, user), create, ttl_seconds=WHOAMI_TTL_SECONDS)

    async def list_tables(self, environment: str, create: Callable[[], Awaitable[T]]) -> T:
        return await self._cache.get_or_create(("tables", environment), create, ttl_seconds=TABLE_LIST_TTL_SECONDS)

    async def get_table(self, environment: str, logical_name: str, create: Callable[[], Awaitable[T]]) -> T:
        return await self._cache.get_or_create(
            ("table", environment, logical_name), create, ttl_seconds=TABLE_METADATA_TTL_SECONDS
        )

    async def get_columns(self, environment: str, logical_name: str, create: Callable[[], Awaitable[T]]) -> T:
        return await self._cache.get_or_create(
            ("columns", environment, logical_name), create, ttl_seconds=TABLE_METADATA_TTL_SECONDS
        )

    async def get_datetime_behaviors(self, environment: str, logical_name: str,
                                     create: Callable[[], Awaitable[T]]) -> T:
        return await self._cache.get_or_create(
            ("datetime", environment, logical_name), create, ttl_seconds=TABLE_METADATA_TTL_SECONDS
        )

    def cached_table(self, environment: str, logical_name: str) -> TableMetadata | None:
        """The cached full description of a table, or None (nothing is fetched)."""
        try:
            return cast(TableMetadata, self._cache.get(("table", environment, logical_name)))
        except KeyError:
            return None

    def clear_schema(self, environment: str) -> int:
        """Forget the table list and every table description of `environment`; returns how many entries went."""
        return self._cache.delete_where(
            lambda key: isinstance(key, tuple) and key[0] in SCHEMA_KEYS and key[1] == environment
        )
