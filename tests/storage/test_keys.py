"""Keys are opaque: anything a caller uses as a key (URLs, hashes, hostile strings) is stored and found again, and
never leaks into Table Storage's restricted PartitionKey/RowKey alphabet."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataverse.storage import MemoryStore, RecordExistsError, Store
from dataverse.storage.codec import MAX_KEY_CHARS
from dataverse.storage.table_entity import build_entity, parse_entity, row_address

HOSTILE_KEYS = [
    "a/b/c",
    "back\\slash",
    "hash#fragment",
    "query?x=1&y=2",
    "https://chatgpt.com/connector/oauth/abc?state=1#frag",
    "tab\tnew\nline\r\x00nul\x1f\x7f\x9f",
    "quote'single\"double",
    "ünïcödé ☃ 😀 中文",
    " ",
    "..",
    "%2F%23",
    "k" * 1024,
    "😀" * 1024,
]
SAFE_TABLE_KEY = re.compile(r"[0-9a-f]+")


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
async def test_hostile_keys_round_trip_through_every_operation(store: Store, key: str) -> None:
    clients = store.collection("clients")
    created = await clients.create(key, {"key": key})
    assert (await clients.get(key)).value == {"key": key}
    replaced = await clients.replace(key, {"key": key, "v": 2}, etag=created.etag)
    expired = await clients.list_expired(now=float("inf"))
    assert expired == []
    assert (await clients.consume(key)).etag == replaced.etag
    assert await clients.get(key) is None


async def test_keys_that_differ_only_slightly_are_different_records(store: Store) -> None:
    clients = store.collection("clients")
    similar = ["a/b", "a\\b", "a#b", "a?b", "a%2Fb", "A/b", "a/b ", "a/b\n"]
    for key in similar:
        await clients.create(key, {"key": key})
    for key in similar:
        assert (await clients.get(key)).value == {"key": key}
    with pytest.raises(RecordExistsError):
        await clients.create("a/b", {})


async def test_the_stored_key_comes_back_from_list_expired(store: Store) -> None:
    codes = store.collection("codes")
    await codes.create("https://x/y?z#w", {}, ttl_seconds=0)
    assert [record.key for record in await codes.list_expired()] == ["https://x/y?z#w"]


@pytest.mark.parametrize("bad_key", ["", "x" * (MAX_KEY_CHARS + 1), "lone\ud800surrogate", None, 42])
async def test_unusable_keys_are_rejected_before_storage_is_touched(store: Store, bad_key: object) -> None:
    with pytest.raises(ValueError):
        await store.collection("codes").create(bad_key, {})  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=8, unique=True))
def test_memory_store_keeps_any_distinct_keys_apart(keys: list[str]) -> None:
    async def scenario() -> None:
        codes = MemoryStore().collection("codes")
        for index, key in enumerate(keys):
            await codes.create(key, {"i": index})
        for index, key in enumerate(keys):
            assert (await codes.get(key)).value == {"i": index}
            assert (await codes.consume(key)).value == {"i": index}
            assert await codes.get(key) is None

    asyncio.run(scenario())


@settings(max_examples=300, deadline=None)
@given(key=st.text(min_size=1, max_size=MAX_KEY_CHARS))
def test_table_addresses_are_always_legal_and_the_entity_keeps_the_key(key: str) -> None:
    partition_key, row_key = row_address(key)
    assert SAFE_TABLE_KEY.fullmatch(partition_key) and SAFE_TABLE_KEY.fullmatch(row_key)
    assert len(row_key) == 64 and row_key.startswith(partition_key)
    entity = build_entity(key, {"k": key}, None)
    assert parse_entity(entity, etag="e", expected_key=key).value == {"k": key}


@settings(max_examples=300, deadline=None)
@given(first=st.text(min_size=1), second=st.text(min_size=1))
def test_distinct_keys_get_distinct_table_addresses(first: str, second: str) -> None:
    assert (row_address(first) == row_address(second)) == (first == second)
