"""The in-process metadata cache: entries expire, the size is bounded, misses are shared, schema can be cleared."""

from __future__ import annotations

import asyncio

import pytest

from dataverse.tools.kit.cache import MetadataCache, TTLCache


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl():
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    cache.set("k", 1, ttl_seconds=10)
    clock.now += 9.9
    assert cache.get("k") == 1
    clock.now += 0.2
    with pytest.raises(KeyError):
        cache.get("k")


def test_the_least_recently_used_entry_goes_first_when_full():
    cache = TTLCache(max_entries=2)
    cache.set("a", 1, ttl_seconds=60)
    cache.set("b", 2, ttl_seconds=60)
    cache.get("a")
    cache.set("c", 3, ttl_seconds=60)
    assert "a" in cache and "c" in cache and "b" not in cache
    assert len(cache) == 2


async def test_concurrent_misses_share_one_call_and_failures_are_not_cached():
    cache = TTLCache()
    calls = 0

    async def create():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return "value"

    results = await asyncio.gather(*(cache.get_or_create("k", create, ttl_seconds=60) for _ in range(10)))
    assert results == ["value"] * 10 and calls == 1

    async def failing():
        raise RuntimeError("dataverse down")

    with pytest.raises(RuntimeError):
        await cache.get_or_create("other", failing, ttl_seconds=60)
    assert "other" not in cache


async def test_clear_schema_drops_only_that_environments_schema():
    clock = FakeClock()
    metadata = MetadataCache(TTLCache(clock=clock))

    async def value():
        return object()

    await metadata.list_tables("https://a", value)
    await metadata.get_table("https://a", "account", value)
    await metadata.get_table("https://b", "account", value)
    alice = await metadata.get_whoami("https://a", "alice", value)
    assert metadata.clear_schema("https://a") == 2
    assert await metadata.get_whoami("https://a", "alice", value) is alice
    kept = await metadata.get_table("https://b", "account", value)
    assert await metadata.get_table("https://b", "account", value) is kept


async def test_lifetimes_whoami_and_table_list_a_day_table_description_an_hour():
    clock = FakeClock()
    metadata = MetadataCache(TTLCache(clock=clock))
    made = []

    async def create():
        made.append(clock.now)
        return len(made)

    await metadata.get_whoami("e", "alice", create)
    await metadata.list_tables("e", create)
    await metadata.get_table("e", "account", create)
    clock.now += 3601
    await metadata.get_whoami("e", "alice", create)
    await metadata.list_tables("e", create)
    await metadata.get_table("e", "account", create)
    assert len(made) == 4  # only the table description was rebuilt
    clock.now += 24 * 3600
    await metadata.get_whoami("e", "alice", create)
    await metadata.get_whoami("e", "bob", create)
    assert len(made) == 6
