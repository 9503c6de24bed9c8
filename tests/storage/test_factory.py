"""Choosing and configuring a store: `create_store`, `create_table_store`, and what they refuse."""

from __future__ import annotations

import pytest

from dataverse.storage import (
    Collection,
    MemoryStore,
    StorageError,
    Store,
    TableStore,
    create_store,
    create_table_store,
)
from dataverse.storage.table_entity import build_entity, parse_entity
from tests.azurite import AzuriteTable

from .conftest import fresh_prefix


def test_no_configuration_gives_the_memory_store() -> None:
    store = create_store()
    assert isinstance(store, MemoryStore)
    assert isinstance(store, Store) and isinstance(store.collection("codes"), Collection)


async def test_a_connection_string_gives_a_working_table_store(azurite: AzuriteTable) -> None:
    store = create_store(connection_string=azurite.connection_string, table_prefix=fresh_prefix())
    try:
        assert isinstance(store, TableStore)
        assert isinstance(store, Store) and isinstance(store.collection("codes"), Collection)
        await store.collection("codes").create("k", {"v": 1})
        assert (await store.collection("codes").get("k")).value == {"v": 1}
    finally:
        await store.close()


@pytest.mark.parametrize("client_id", ["", "00000000-0000-0000-0000-000000000001"])
async def test_an_endpoint_gives_a_table_store_with_an_azure_identity(client_id: str) -> None:
    store = create_store(endpoint="https://account.table.core.windows.net", managed_identity_client_id=client_id)
    try:
        assert isinstance(store, TableStore)
    finally:
        await store.close()


def test_create_table_store_needs_a_target_and_a_credential_for_an_endpoint() -> None:
    with pytest.raises(ValueError):
        create_table_store()
    with pytest.raises(ValueError):
        create_table_store(endpoint="https://account.table.core.windows.net")


@pytest.mark.parametrize("prefix", ["1abc", "a-b", "a_b", "a b"])
def test_table_prefixes_must_be_legal_table_name_starts(prefix: str) -> None:
    with pytest.raises(ValueError):
        create_table_store(connection_string="UseDevelopmentStorage=true", table_prefix=prefix)


def test_prefix_plus_name_must_fit_in_a_table_name() -> None:
    store = create_table_store(connection_string="UseDevelopmentStorage=true", table_prefix="p" * 40)
    store.collection("c" * 23)
    with pytest.raises(ValueError):
        store.collection("c" * 24)


def test_an_entity_holding_a_different_key_is_refused() -> None:
    entity = build_entity("mine", {"v": 1}, None)
    with pytest.raises(StorageError):
        parse_entity(entity, etag="e", expected_key="someone-else")


def test_an_entity_not_written_by_the_store_is_refused() -> None:
    with pytest.raises(StorageError):
        parse_entity({"Key": "k", "Chunks": 2, "V0": "{}"}, etag="e")
    with pytest.raises(StorageError):
        parse_entity({"PartitionKey": "p", "RowKey": "r"}, etag="e")
