"""Table Storage outages: a dead endpoint surfaces as StorageUnavailableError (for a 503), not a hang or an SDK
exception, and the same store recovers when storage comes back (Azurite in memory comes back empty)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from dataverse.storage import StorageUnavailableError, create_table_store
from tests.azurite import AzuriteTable, running_azurite

from .conftest import fresh_prefix

HANG_GUARD_SECONDS = 30  # not a speed assertion: only stops a regression to SDK-default retries from hanging the suite


@pytest.fixture(scope="module")
def private_azurite() -> Iterator[AzuriteTable]:
    """An emulator this module may stop and restart without disturbing the session's."""
    with running_azurite() as emulator:
        yield emulator


@pytest.fixture
def own_azurite(private_azurite: AzuriteTable) -> AzuriteTable:
    private_azurite.start()  # running again even if the previous test left it stopped
    return private_azurite


async def test_every_operation_reports_unavailable_while_azurite_is_down(own_azurite: AzuriteTable) -> None:
    store = create_table_store(connection_string=own_azurite.connection_string, table_prefix=fresh_prefix())
    try:
        codes = store.collection("codes")
        created = await codes.create("c", {"v": 1})
        own_azurite.stop()
        operations = {
            "get": lambda: codes.get("c"),
            "create": lambda: codes.create("d", {}),
            "upsert": lambda: codes.upsert("c", {}),
            "replace": lambda: codes.replace("c", {}, etag=created.etag),
            "delete": lambda: codes.delete("c"),
            "consume": lambda: codes.consume("c"),
            "list_expired": codes.list_expired,
            "purge_expired": codes.purge_expired,
            "ping": store.ping,
        }
        outcomes = {}
        for name, operation in operations.items():
            try:
                await asyncio.wait_for(operation(), HANG_GUARD_SECONDS)
                outcomes[name] = "returned normally"
            except Exception as error:  # noqa: BLE001 - every outcome is reported, the expected one is asserted
                outcomes[name] = type(error).__name__
        assert outcomes == {name: "StorageUnavailableError" for name in operations}
    finally:
        await store.close()


async def test_a_store_works_again_after_azurite_restarts(own_azurite: AzuriteTable) -> None:
    store = create_table_store(connection_string=own_azurite.connection_string, table_prefix=fresh_prefix())
    try:
        codes = store.collection("codes")
        await codes.create("before", {"v": 1})
        own_azurite.stop()
        with pytest.raises(StorageUnavailableError):
            await asyncio.wait_for(codes.get("before"), HANG_GUARD_SECONDS)
        own_azurite.start()
        # The emulator lost its tables; the store re-creates them on first use instead of failing.
        await store.ping()
        await codes.create("after", {"v": 2})
        assert (await codes.get("after")).value == {"v": 2}
        assert await codes.get("before") is None
    finally:
        await store.close()


@pytest.mark.parametrize("first_call", ["get", "upsert", "create", "consume", "delete", "list_expired"])
async def test_each_operation_recreates_a_table_that_vanished(own_azurite: AzuriteTable, first_call: str) -> None:
    store = create_table_store(connection_string=own_azurite.connection_string, table_prefix=fresh_prefix())
    try:
        codes = store.collection("codes")
        await codes.create("seed", {})
        own_azurite.stop()
        own_azurite.start()
        calls = {
            "get": lambda: codes.get("x"),
            "upsert": lambda: codes.upsert("x", {"v": 1}),
            "create": lambda: codes.create("x", {"v": 1}),
            "consume": lambda: codes.consume("x"),
            "delete": lambda: codes.delete("x"),
            "list_expired": codes.list_expired,
        }
        try:
            await calls[first_call]()
        except Exception as error:  # noqa: BLE001
            assert first_call == "delete" and type(error).__name__ == "RecordNotFoundError"
        await codes.upsert("y", {"v": 2})
        assert (await codes.get("y")).value == {"v": 2}
    finally:
        await store.close()


async def test_an_unreachable_endpoint_is_unavailable_not_an_sdk_error() -> None:
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused.
    store = create_table_store(
        connection_string=(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        ),
        table_prefix=fresh_prefix(),
    )
    try:
        with pytest.raises(StorageUnavailableError):
            await asyncio.wait_for(store.ping(), HANG_GUARD_SECONDS)
        with pytest.raises(StorageUnavailableError):
            await asyncio.wait_for(store.collection("codes").get("k"), HANG_GUARD_SECONDS)
    finally:
        await store.close()
