"""How a record is laid out as a Table Storage entity (pure functions, no I/O).

PartitionKey/RowKey may not contain / \\ # ? or control characters and are limited to 1 KiB, while our keys are
arbitrary strings (hashes, ids, URLs). So the row key is the SHA-256 hex digest of the key's UTF-8 bytes (always
64 safe characters), the partition key its first two hex digits (256 partitions spread the load), and the key itself
is kept verbatim in the `Key` property, checked on every read.

    PartitionKey  "3f"                  RowKey   "3fa9...e1" (sha256 hex)
    Key           the original key      Chunks   number of value chunks (Edm.Int32)
    V0..V14       the value's ASCII JSON, 32,000 characters per property (a string property holds 64 KiB UTF-16)
    ExpiresAt     Edm.Double epoch seconds; absent when the record never expires
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from azure.data.tables import EdmType, EntityProperty

from .codec import MAX_VALUE_CHUNKS, decode_value, encode_value, split_chunks, validate_key
from .errors import StorageError
from .protocol import Record

KEY_PROPERTY = "Key"
CHUNKS_PROPERTY = "Chunks"
EXPIRES_PROPERTY = "ExpiresAt"
CHUNK_PREFIX = "V"


def row_address(key: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) for a record key: safe for Table Storage whatever the key contains."""
    digest = hashlib.sha256(validate_key(key).encode("utf-8")).hexdigest()
    return digest[:2], digest


def build_entity(key: str, value: dict[str, Any], expires_at: float | None) -> dict[str, Any]:
    """The entity to write for a record (RecordTooLargeError if the value does not fit)."""
    partition_key, row_key = row_address(key)
    chunks = split_chunks(encode_value(value))
    assert len(chunks) <= MAX_VALUE_CHUNKS  # encode_value enforces the limit
    entity: dict[str, Any] = {
        "PartitionKey": partition_key,
        "RowKey": row_key,
        KEY_PROPERTY: key,
        CHUNKS_PROPERTY: EntityProperty(len(chunks), EdmType.INT32),
    }
    for index, chunk in enumerate(chunks):
        entity[f"{CHUNK_PREFIX}{index}"] = chunk
    if expires_at is not None:
        entity[EXPIRES_PROPERTY] = EntityProperty(float(expires_at), EdmType.DOUBLE)
    return entity


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, EntityProperty) else value


def parse_entity(entity: Mapping[str, Any], *, etag: str, expected_key: str | None = None) -> Record:
    """The record an entity holds. Raises StorageError for an entity this module did not write."""
    key = entity.get(KEY_PROPERTY)
    if not isinstance(key, str) or (expected_key is not None and key != expected_key):
        raise StorageError("table entity does not hold the expected key; the table is shared or corrupted")
    try:
        count = int(_plain(entity[CHUNKS_PROPERTY]))
        text = "".join(entity[f"{CHUNK_PREFIX}{index}"] for index in range(count))
        value = decode_value(text)
    except (KeyError, TypeError, ValueError) as error:
        raise StorageError(f"table entity for a record is malformed: {error}") from error
    expires_at = _plain(entity.get(EXPIRES_PROPERTY))
    return Record(key=key, value=value, etag=etag, expires_at=None if expires_at is None else float(expires_at))
