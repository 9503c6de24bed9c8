"""The store contract, pinned once and run against both the in-memory store and Table Storage (Azurite)."""

from __future__ import annotations

import pytest

from dataverse.storage import (
    ConcurrencyError,
    RecordExistsError,
    RecordNotFoundError,
    RecordTooLargeError,
    Store,
)
from dataverse.storage.codec import MAX_VALUE_CHARS

from .conftest import FakeClock


async def test_get_of_a_key_never_written_is_none(store: Store) -> None:
    assert await store.collection("codes").get("missing") is None


async def test_create_then_get_returns_the_value_key_and_etag(store: Store) -> None:
    codes = store.collection("codes")
    created = await codes.create("k1", {"user": "alice", "scopes": ["a", "b"], "n": 3, "ok": True, "x": None})
    fetched = await codes.get("k1")
    assert fetched is not None
    assert fetched.key == "k1"
    assert fetched.value == {"user": "alice", "scopes": ["a", "b"], "n": 3, "ok": True, "x": None}
    assert fetched.etag == created.etag
    assert fetched.expires_at is None


async def test_create_of_an_existing_key_raises_and_keeps_the_original(store: Store) -> None:
    codes = store.collection("codes")
    await codes.create("k1", {"v": 1})
    with pytest.raises(RecordExistsError):
        await codes.create("k1", {"v": 2})
    assert (await codes.get("k1")).value == {"v": 1}


async def test_collections_are_separate_namespaces(store: Store) -> None:
    await store.collection("clients").create("same", {"from": "clients"})
    await store.collection("grants").create("same", {"from": "grants"})
    assert (await store.collection("clients").get("same")).value == {"from": "clients"}
    assert (await store.collection("grants").get("same")).value == {"from": "grants"}


async def test_every_write_changes_the_etag(store: Store) -> None:
    codes = store.collection("codes")
    etags = [(await codes.create("k", {"v": 0})).etag]
    for version in range(1, 4):
        etags.append((await codes.upsert("k", {"v": version})).etag)
    for version in range(4, 7):
        etags.append((await codes.replace("k", {"v": version}, etag=etags[-1])).etag)
    assert len(set(etags)) == len(etags)
    assert (await codes.get("k")).value == {"v": 6}


async def test_returned_values_are_copies_the_caller_cannot_use_to_change_the_store(store: Store) -> None:
    codes = store.collection("codes")
    value = {"list": [1]}
    await codes.create("k", value)
    value["list"].append(2)
    fetched = await codes.get("k")
    fetched.value["list"].append(3)
    assert (await codes.get("k")).value == {"list": [1]}


async def test_upsert_creates_and_overwrites_unconditionally(store: Store) -> None:
    grants = store.collection("grants")
    await grants.upsert("g", {"v": 1})
    await grants.upsert("g", {"v": 2})
    assert (await grants.get("g")).value == {"v": 2}


async def test_replace_with_a_stale_etag_fails_and_keeps_the_newer_value(store: Store) -> None:
    grants = store.collection("grants")
    first = await grants.create("g", {"v": 1})
    await grants.replace("g", {"v": 2}, etag=first.etag)
    with pytest.raises(ConcurrencyError):
        await grants.replace("g", {"v": 3}, etag=first.etag)
    assert (await grants.get("g")).value == {"v": 2}


async def test_replace_of_a_missing_key_raises_not_found(store: Store) -> None:
    grants = store.collection("grants")
    created = await grants.create("g", {"v": 1})
    await grants.delete("g")
    with pytest.raises(RecordNotFoundError):
        await grants.replace("g", {"v": 2}, etag=created.etag)
    assert await grants.get("g") is None


async def test_delete_removes_the_record(store: Store) -> None:
    grants = store.collection("grants")
    created = await grants.create("g", {"v": 1})
    await grants.delete("g", etag=created.etag)
    assert await grants.get("g") is None


async def test_delete_with_a_stale_etag_fails_and_keeps_the_record(store: Store) -> None:
    grants = store.collection("grants")
    first = await grants.create("g", {"v": 1})
    await grants.upsert("g", {"v": 2})
    with pytest.raises(ConcurrencyError):
        await grants.delete("g", etag=first.etag)
    assert (await grants.get("g")).value == {"v": 2}


@pytest.mark.parametrize("with_etag", [False, True])
async def test_delete_of_a_missing_key_raises_not_found(store: Store, with_etag: bool) -> None:
    grants = store.collection("grants")
    created = await grants.create("g", {"v": 1})
    await grants.delete("g")
    with pytest.raises(RecordNotFoundError):
        await grants.delete("g", etag=created.etag if with_etag else None)


async def test_consume_returns_the_record_once_and_removes_it(store: Store) -> None:
    codes = store.collection("codes")
    created = await codes.create("c", {"user": "bob"}, ttl_seconds=60)
    taken = await codes.consume("c")
    assert taken is not None
    assert (taken.key, taken.value, taken.etag) == ("c", {"user": "bob"}, created.etag)
    assert await codes.consume("c") is None
    assert await codes.get("c") is None


async def test_consume_of_a_missing_key_is_none(store: Store) -> None:
    assert await store.collection("codes").consume("never") is None


async def test_ttl_sets_expires_at_from_the_store_clock(store: Store, clock: FakeClock) -> None:
    record = await store.collection("codes").create("c", {}, ttl_seconds=90)
    assert record.expires_at == clock.now + 90
    assert (await store.collection("codes").get("c")).expires_at == clock.now + 90


async def test_expired_records_are_invisible_to_get_and_consume(store: Store, clock: FakeClock) -> None:
    codes = store.collection("codes")
    await codes.create("short", {"v": 1}, ttl_seconds=10)
    await codes.create("long", {"v": 2}, ttl_seconds=1000)
    await codes.create("forever", {"v": 3})
    clock.advance(9.5)
    assert (await codes.get("short")).value == {"v": 1}
    clock.advance(0.5)
    assert await codes.get("short") is None
    assert await codes.consume("short") is None
    assert (await codes.get("long")).value == {"v": 2}
    assert (await codes.get("forever")).value == {"v": 3}


async def test_consuming_an_expired_record_deletes_it(store: Store, clock: FakeClock) -> None:
    codes = store.collection("codes")
    await codes.create("c", {}, ttl_seconds=5)
    clock.advance(6)
    assert await codes.consume("c") is None
    assert await codes.list_expired() == []


async def test_create_may_reuse_the_key_of_an_expired_record(store: Store, clock: FakeClock) -> None:
    codes = store.collection("codes")
    await codes.create("c", {"v": "old"}, ttl_seconds=5)
    clock.advance(5)
    fresh = await codes.create("c", {"v": "new"}, ttl_seconds=5)
    assert fresh.expires_at == clock.now + 5
    assert (await codes.get("c")).value == {"v": "new"}


async def test_list_expired_returns_only_expired_records_up_to_the_limit(store: Store, clock: FakeClock) -> None:
    tx = store.collection("transactions")
    for index in range(5):
        await tx.create(f"old{index}", {"i": index}, ttl_seconds=10)
    await tx.create("young", {}, ttl_seconds=100)
    await tx.create("forever", {})
    assert await tx.list_expired() == []
    clock.advance(50)
    expired = await tx.list_expired()
    assert sorted(record.key for record in expired) == [f"old{index}" for index in range(5)]
    assert all(record.value == {"i": int(record.key[3:])} for record in expired)
    assert len(await tx.list_expired(limit=2)) == 2
    assert {r.key for r in await tx.list_expired(now=clock.now + 1000)} == {f"old{i}" for i in range(5)} | {"young"}


async def test_purge_expired_deletes_expired_records_and_counts_them(store: Store, clock: FakeClock) -> None:
    tx = store.collection("transactions")
    for index in range(3):
        await tx.create(f"old{index}", {}, ttl_seconds=10)
    await tx.create("young", {"keep": True}, ttl_seconds=100)
    clock.advance(20)
    assert await tx.purge_expired() == 3
    assert await tx.list_expired(now=clock.now + 1000) == [await tx.get("young")]
    assert await tx.purge_expired() == 0


async def test_replace_can_renew_a_ttl(store: Store, clock: FakeClock) -> None:
    refresh = store.collection("refresh")
    created = await refresh.create("r", {"gen": 1}, ttl_seconds=10)
    clock.advance(8)
    renewed = await refresh.replace("r", {"gen": 2}, etag=created.etag, ttl_seconds=10)
    clock.advance(8)
    assert (await refresh.get("r")).value == {"gen": 2}
    assert renewed.expires_at == clock.now + 2
    assert await refresh.purge_expired() == 0


async def test_a_large_value_with_unicode_round_trips(store: Store) -> None:
    # Non-ASCII text is stored escaped (6 characters each); this value needs several Table Storage properties.
    value = {"text": "é☃😀" * 10_000, "ascii": "x" * 100_000, "items": list(range(1000))}
    await store.collection("proposals").create("big", value)
    assert (await store.collection("proposals").get("big")).value == value


async def test_a_value_over_the_limit_is_rejected_and_nothing_is_stored(store: Store) -> None:
    proposals = store.collection("proposals")
    with pytest.raises(RecordTooLargeError):
        await proposals.create("huge", {"blob": "x" * MAX_VALUE_CHARS})
    assert await proposals.get("huge") is None


async def test_a_value_just_under_the_limit_is_accepted(store: Store) -> None:
    overhead = len('{"blob":""}')
    value = {"blob": "y" * (MAX_VALUE_CHARS - overhead)}
    await store.collection("proposals").create("edge", value)
    assert (await store.collection("proposals").get("edge")).value == value


async def test_collection_names_follow_azure_table_rules(store: Store) -> None:
    for bad in ["ab", "1abc", "with-dash", "under_score", "x" * 64, ""]:
        with pytest.raises(ValueError):
            store.collection(bad)
    assert store.collection("Abc").name == "Abc"


async def test_the_same_name_gives_the_same_collection(store: Store) -> None:
    assert store.collection("codes") is store.collection("codes")


async def test_ping_succeeds_when_storage_is_up(store: Store) -> None:
    await store.ping()
