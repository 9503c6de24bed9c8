"""Shared state for the OAuth server and the tools: a small async key-value store with ETags and expiry.

`create_store(...)` returns Table Storage when a connection string or endpoint is configured, else an in-memory
store (sandbox and local runs). See `protocol` for the contract, `errors` for the exception hierarchy, `typed` for
the one typed adapter every stored model goes through (`TypedCollection`), and `sweep` for the expired-row sweeper.

`table` (and with it the Azure SDK, about a tenth of a second to import) loads only when a Table Storage store is
made or `TableStore` is named, so sandbox runs and the in-memory store never pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    ConcurrencyError,
    RecordExistsError,
    RecordGoneError,
    RecordNotFoundError,
    RecordTooLargeError,
    StorageError,
    StorageUnavailableError,
)
from .memory import MemoryStore
from .protocol import Collection, Record, Store
from .sweep import purge_expired_rows
from .typed import Stored, TypedCollection

if TYPE_CHECKING:
    from .table import TableStore, create_table_store

__all__ = [
    "Collection",
    "ConcurrencyError",
    "MemoryStore",
    "Record",
    "RecordExistsError",
    "RecordGoneError",
    "RecordNotFoundError",
    "RecordTooLargeError",
    "StorageError",
    "StorageUnavailableError",
    "Store",
    "Stored",
    "TableStore",
    "TypedCollection",
    "create_store",
    "create_table_store",
    "purge_expired_rows",
]


def create_store(
    *, connection_string: str = "", endpoint: str = "", managed_identity_client_id: str = "", table_prefix: str = ""
) -> Store:
    """Table Storage from a connection string (Azurite, local) or an endpoint with an Azure identity; else memory.

    With an endpoint, the user-assigned managed identity `managed_identity_client_id` is used when given, otherwise
    `DefaultAzureCredential` (which finds a system-assigned identity in Azure or a developer login locally).
    """
    if not (connection_string or endpoint):
        return MemoryStore()
    from .table import create_table_store

    if connection_string:
        return create_table_store(connection_string=connection_string, table_prefix=table_prefix)
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    credential = (
        ManagedIdentityCredential(client_id=managed_identity_client_id)
        if managed_identity_client_id
        else DefaultAzureCredential()
    )
    return create_table_store(endpoint=endpoint, credential=credential, table_prefix=table_prefix)


def __getattr__(name: str) -> object:
    if name in ("TableStore", "create_table_store"):
        from . import table

        return getattr(table, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
