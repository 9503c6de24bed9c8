"""Consume-once under races: however many tasks or servers race for a record, exactly one wins."""

from __future__ import annotations

import asyncio

from dataverse.storage import ConcurrencyError, Record, Store, create_table_store
from tests.azurite import AzuriteTable

from .conftest import FakeClock, fresh_prefix

RACERS = 32


async def test_32_tasks_consuming_one_key_get_exactly_one_record(store: Store) -> None:
    codes = store.collection("codes")
    await codes.create("code-1", {"user": "alice"}, ttl_seconds=60)
    results = await asyncio.gather(*(codes.consume("code-1") for _ in range(RACERS)))
    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert winners[0].value == {"user": "alice"}
    assert await codes.get("code-1") is None


async def test_racing_consumers_of_many_keys_each_key_is_won_once(store: Store) -> None:
    codes = store.collection("codes")
    keys = [f"code-{index}" for index in range(8)]
    for key in keys:
        await codes.create(key, {"key": key})
    results = await asyncio.gather(*(codes.consume(key) for key in keys for _ in range(4)))
    won = sorted(result.key for result in results if result is not None)
    assert won == sorted(keys)


async def test_32_replaces_with_the_same_etag_exactly_one_wins(store: Store) -> None:
    refresh = store.collection("refresh")
    original = await refresh.create("token-hash", {"generation": 0})

    async def rotate(racer: int) -> Record | ConcurrencyError:
        try:
            return await refresh.replace("token-hash", {"generation": 1, "by": racer}, etag=original.etag)
        except ConcurrencyError as error:
            return error

    results = await asyncio.gather(*(rotate(racer) for racer in range(RACERS)))
    winners = [result for result in results if isinstance(result, Record)]
    assert len(winners) == 1
    assert sum(isinstance(result, ConcurrencyError) for result in results) == RACERS - 1
    stored = await refresh.get("token-hash")
    assert stored.value == winners[0].value and stored.etag == winners[0].etag


async def test_32_creates_of_one_key_exactly_one_succeeds(store: Store) -> None:
    clients = store.collection("clients")

    async def register(racer: int) -> bool:
        try:
            await clients.create("client-id", {"racer": racer})
        except Exception as error:  # noqa: BLE001 - the assertion below names the only acceptable failure
            return type(error).__name__
        return True

    results = await asyncio.gather(*(register(racer) for racer in range(RACERS)))
    assert results.count(True) == 1
    assert set(results) - {True} == {"RecordExistsError"}


async def test_two_servers_consuming_one_key_exactly_one_wins(azurite: AzuriteTable, clock: FakeClock) -> None:
    """Two TableStore instances (two serverless instances, separate connection pools) race 16 tasks each."""
    prefix = fresh_prefix()
    server_a = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
    server_b = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
    try:
        for round_number in range(3):
            key = f"code-{round_number}"
            await server_a.collection("codes").create(key, {"round": round_number}, ttl_seconds=60)
            assert (await server_b.collection("codes").get(key)).value == {"round": round_number}
            racers = [server.collection("codes").consume(key) for server in (server_a, server_b) for _ in range(16)]
            winners = [result for result in await asyncio.gather(*racers) if result is not None]
            assert [winner.value for winner in winners] == [{"round": round_number}]
    finally:
        await server_a.close()
        await server_b.close()


async def test_two_servers_rotating_one_refresh_token_exactly_one_wins(azurite: AzuriteTable, clock: FakeClock) -> None:
    prefix = fresh_prefix()
    servers = [
        create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
        for _ in range(2)
    ]
    try:
        original = await servers[0].collection("refresh").create("rt", {"generation": 0})

        async def rotate(server_index: int, racer: int) -> bool:
            try:
                await (
                    servers[server_index]
                    .collection("refresh")
                    .replace("rt", {"generation": 1, "by": [server_index, racer]}, etag=original.etag)
                )
            except ConcurrencyError:
                return False
            return True

        results = await asyncio.gather(*(rotate(index % 2, index) for index in range(RACERS)))
        assert results.count(True) == 1
    finally:
        for server in servers:
            await server.close()


async def test_a_consume_that_loses_to_a_rewrite_reads_again_and_takes_the_new_value(
    azurite: AzuriteTable, clock: FakeClock
) -> None:
    """Interleaving scripted on real Table Storage: server B rewrites the record after A has read it."""
    prefix = fresh_prefix()
    server_a = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
    server_b = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
    try:
        codes_a, codes_b = server_a.collection("codes"), server_b.collection("codes")
        created = await codes_a.create("c", {"v": 1})
        real_read = codes_a._read
        reads = []

        async def read_then_let_b_rewrite(key: str) -> Record | None:
            record = await real_read(key)
            reads.append(record.value if record else None)
            if len(reads) == 1:
                await codes_b.replace(key, {"v": 2}, etag=created.etag)
            return record

        codes_a._read = read_then_let_b_rewrite
        taken = await codes_a.consume("c")
        assert reads == [{"v": 1}, {"v": 2}]
        assert taken.value == {"v": 2}
        assert await codes_b.get("c") is None
    finally:
        await server_a.close()
        await server_b.close()


async def test_purge_spares_a_record_renewed_after_it_was_listed(azurite: AzuriteTable, clock: FakeClock) -> None:
    """The sweeper deletes by ETag: a refresh that renews a record between listing and deleting wins."""
    prefix = fresh_prefix()
    sweeper = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
    server = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
    try:
        sweeping, serving = sweeper.collection("grants"), server.collection("grants")
        renewed_key_etag = {}
        for key in ("stale", "renewed"):
            renewed_key_etag[key] = (await serving.create(key, {"key": key}, ttl_seconds=10)).etag
        clock.advance(11)
        real_list_expired = sweeping.list_expired

        async def list_then_renew(*, now: float | None = None, limit: int = 1000) -> list[Record]:
            listed = await real_list_expired(now=now, limit=limit)
            if any(record.key == "renewed" for record in listed):
                await serving.replace("renewed", {"key": "renewed"}, etag=renewed_key_etag["renewed"], ttl_seconds=60)
            return listed

        sweeping.list_expired = list_then_renew
        assert await sweeping.purge_expired() == 1
        assert await serving.get("stale") is None
        assert (await serving.get("renewed")).value == {"key": "renewed"}
    finally:
        await sweeper.close()
        await server.close()
