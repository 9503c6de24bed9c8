"""The Azure Table Storage store (azure-data-tables, async): one table per collection, ETag-conditional writes.

Built by `create_table_store` from a connection string (Azurite, local) or an endpoint plus an Azure credential
(the managed identity in Azure). A table is created only when a call finds it missing (then the call is retried).
Client timeouts and retries are short so an outage surfaces as StorageUnavailableError within seconds.
Limits: keys up to `codec.MAX_KEY_CHARS` characters, values up to `codec.MAX_VALUE_CHARS` characters of JSON.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from .codec import expiry_time, is_expired, validate_collection_name
from .errors import ConcurrencyError, RecordExistsError, RecordNotFoundError, StorageError, StorageUnavailableError
from .protocol import Record
from .table_entity import EXPIRES_PROPERTY, build_entity, parse_entity, row_address
from .table_errors import table_missing, translated_errors

T = TypeVar("T")

TABLE_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9]*)?")
_CREATED_TABLES: set[tuple[str, str]] = set()  # (account URL, table name) known to exist, per process
_MAX_TAKE_ATTEMPTS = 5

SendEntity = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]
"""One entity write (create, update or upsert); it answers the response metadata, the new ETag among them."""


def _etag_of(entity: TableEntity) -> str:
    etag = entity.metadata["etag"]
    if not etag:
        raise StorageError("Table Storage returned an entity without an ETag")
    return etag


class TableCollection:
    """One collection stored in the Azure table `<prefix><name>`."""

    def __init__(self, name: str, *, client: TableClient, account_url: str, clock: Callable[[], float]) -> None:
        self.name = name
        self._client = client
        self._table_id = (account_url, client.table_name.lower())
        self._clock = clock

    async def _ensure_table(self) -> None:
        if self._table_id in _CREATED_TABLES:
            return
        try:
            await self._client.create_table()
        except ResourceExistsError:
            pass
        except HttpResponseError as error:
            if error.status_code != 403:
                raise
            # An identity with data access but no right to create tables: infrastructure provisions them.
        _CREATED_TABLES.add(self._table_id)

    async def _run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one table call with error translation, creating the table and retrying once if it is missing. Tables
        are not created up front: in Azure the infrastructure provisions them, so a cold instance's first calls
        cost no create_table round trips."""
        async with translated_errors(self.name):
            try:
                return await operation()
            except ResourceNotFoundError as error:
                if not table_missing(error):
                    raise
                _CREATED_TABLES.discard(self._table_id)
                await self._ensure_table()
                return await operation()

    async def _read(self, key: str) -> Record | None:
        """The stored record, expired or not; None when absent."""
        partition_key, row_key = row_address(key)
        try:
            entity = await self._run(lambda: self._client.get_entity(partition_key, row_key))
        except RecordNotFoundError:
            return None
        return parse_entity(entity, etag=_etag_of(entity), expected_key=key)

    async def _write(self, key: str, value: dict[str, Any], ttl_seconds: float | None, send: SendEntity) -> Record:
        expires_at = expiry_time(self._clock(), ttl_seconds)
        entity = build_entity(key, value, expires_at)
        metadata = await self._run(lambda: send(entity))
        return Record(key=key, value=parse_entity(entity, etag="").value, etag=metadata["etag"], expires_at=expires_at)

    def _send_replace(self, *, etag: str | None) -> SendEntity:
        condition = MatchConditions.IfNotModified if etag is not None else MatchConditions.Unconditionally
        return lambda entity: self._client.update_entity(
            entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=condition
        )

    async def get(self, key: str) -> Record | None:
        record = await self._read(key)
        if record is None or is_expired(record.expires_at, self._clock()):
            return None
        return record

    async def create(self, key: str, value: dict[str, Any], *, ttl_seconds: float | None = None) -> Record:
        for _ in range(_MAX_TAKE_ATTEMPTS):
            try:
                return await self._write(key, value, ttl_seconds, self._client.create_entity)
            except RecordExistsError:
                existing = await self._read(key)
                if existing is None:
                    continue  # deleted meanwhile: try the insert again
                if not is_expired(existing.expires_at, self._clock()):
                    raise
                try:  # an expired record frees its key: take it over, unless someone else does first
                    return await self._write(key, value, ttl_seconds, self._send_replace(etag=existing.etag))
                except (ConcurrencyError, RecordNotFoundError):
                    continue
        raise RecordExistsError(f"{self.name}: a record with this key already exists (contended)")

    async def upsert(self, key: str, value: dict[str, Any], *, ttl_seconds: float | None = None) -> Record:
        send = lambda entity: self._client.upsert_entity(entity, mode=UpdateMode.REPLACE)  # noqa: E731
        return await self._write(key, value, ttl_seconds, send)

    async def replace(self, key: str, value: dict[str, Any], *, etag: str, ttl_seconds: float | None = None) -> Record:
        if not etag:
            raise ValueError("replace needs the ETag of the record it replaces")
        return await self._write(key, value, ttl_seconds, self._send_replace(etag=etag))

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        partition_key, row_key = row_address(key)
        statuses: list[int] = []

        def note_status(pipeline_response: Any) -> None:
            statuses.append(pipeline_response.http_response.status_code)

        condition = MatchConditions.IfNotModified if etag is not None else MatchConditions.Unconditionally
        await self._run(
            lambda: self._client.delete_entity(
                partition_key, row_key, etag=etag, match_condition=condition, raw_response_hook=note_status
            )
        )
        # The SDK swallows 404 on delete; a consume-once race depends on seeing it.
        if statuses and statuses[-1] == 404:
            raise RecordNotFoundError(f"{self.name}: no record with this key")

    async def consume(self, key: str) -> Record | None:
        for _ in range(_MAX_TAKE_ATTEMPTS):
            record = await self._read(key)
            if record is None:
                return None
            try:
                await self.delete(key, etag=record.etag)
            except RecordNotFoundError:
                return None  # another consumer won
            except ConcurrencyError:
                continue  # rewritten since we read it: read again
            return None if is_expired(record.expires_at, self._clock()) else record
        return None

    async def list_expired(self, *, now: float | None = None, limit: int = 1000) -> list[Record]:
        instant = self._clock() if now is None else now

        async def collect() -> list[Record]:
            found: list[Record] = []
            entities = self._client.query_entities(
                f"{EXPIRES_PROPERTY} le @now", parameters={"now": float(instant)}, results_per_page=min(limit, 1000)
            )
            async for entity in entities:
                found.append(parse_entity(entity, etag=_etag_of(entity)))
                if len(found) >= limit:
                    break
            return found

        return await self._run(collect) if limit > 0 else []

    async def purge_expired(self, *, now: float | None = None) -> int:
        instant = self._clock() if now is None else now
        purged = 0
        while True:
            batch = await self.list_expired(now=instant)
            deleted_in_batch = 0
            for record in batch:
                try:
                    await self.delete(record.key, etag=record.etag)
                except (ConcurrencyError, RecordNotFoundError):
                    continue  # renewed or removed by someone else
                deleted_in_batch += 1
            purged += deleted_in_batch
            if len(batch) < 1000 or deleted_in_batch == 0:
                return purged


class TableStore:
    """Collections backed by Azure tables named `<table_prefix><collection name>`."""

    def __init__(
        self,
        service: TableServiceClient,
        *,
        table_prefix: str = "",
        credential: AsyncTokenCredential | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not TABLE_PREFIX.fullmatch(table_prefix):
            raise ValueError(f"table_prefix must be letters and digits starting with a letter, got {table_prefix!r}")
        self._service = service
        self._table_prefix = table_prefix
        self._credential = credential
        self._clock = clock
        self._collections: dict[str, TableCollection] = {}

    def collection(self, name: str) -> TableCollection:
        validate_collection_name(name)
        table_name = f"{self._table_prefix}{name}"
        if len(table_name) > 63:
            raise ValueError(f"table name {table_name!r} is longer than 63 characters")
        folded = table_name.lower()
        if folded not in self._collections:
            client = self._service.get_table_client(table_name)
            self._collections[folded] = TableCollection(
                name, client=client, account_url=self._service.url, clock=self._clock
            )
        return self._collections[folded]

    async def ping(self) -> None:
        try:
            async with translated_errors("ping"):
                async for _ in self._service.list_tables(results_per_page=1):
                    break
        except StorageUnavailableError:
            raise
        except StorageError as error:
            raise StorageUnavailableError(str(error)) from error

    async def close(self) -> None:
        await self._service.close()  # the table clients share its transport
        if self._credential is not None:
            await self._credential.close()


def create_table_store(
    *,
    connection_string: str = "",
    endpoint: str = "",
    credential: AsyncTokenCredential | None = None,
    table_prefix: str = "",
    clock: Callable[[], float] = time.time,
    connection_timeout: float = 3.0,
    read_timeout: float = 10.0,
    retry_total: int = 2,
) -> TableStore:
    """A TableStore from a connection string, or from an endpoint plus an async Azure credential (which it closes)."""
    transport_options: dict[str, Any] = {  # azure-core's transport and retry keywords
        "connection_timeout": connection_timeout,
        "read_timeout": read_timeout,
        "retry_total": retry_total,
        "retry_backoff_factor": 0.2,
        "retry_backoff_max": 2,
    }
    if connection_string:
        service = TableServiceClient.from_connection_string(connection_string, **transport_options)
    elif endpoint:
        if credential is None:
            raise ValueError("a table endpoint needs a credential (for example ManagedIdentityCredential)")
        service = TableServiceClient(endpoint=endpoint, credential=credential, **transport_options)
    else:
        raise ValueError("create_table_store needs a connection_string or an endpoint")
    return TableStore(service, table_prefix=table_prefix, credential=credential, clock=clock)
