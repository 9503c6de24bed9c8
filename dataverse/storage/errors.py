"""The storage exception hierarchy. Every failure a store reports is one of these; the Azure SDK's exceptions never
escape a store.

    StorageError                    base: catch this to handle any storage failure
    ├── StorageUnavailableError     storage cannot be reached or is failing (connection refused, timeout, 5xx, the
    │                               managed identity cannot get a token): callers answer 503
    ├── RecordNotFoundError         replace/delete of a key that is not stored
    ├── RecordExistsError           create of a key that is already stored (and not expired)
    ├── ConcurrencyError            the ETag given no longer matches: someone else wrote or deleted first
    │   └── RecordGoneError         ...and it was deleted: the record an ETag-conditional write addressed is gone
    │                               (also a RecordNotFoundError; raised by the typed adapter, `typed.py`)
    └── RecordTooLargeError         the value's JSON exceeds what one Table Storage entity can hold
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""


class StorageUnavailableError(StorageError):
    """Storage cannot be reached or keeps failing; the operation may or may not have happened."""


class RecordNotFoundError(StorageError):
    """The record addressed does not exist."""


class RecordExistsError(StorageError):
    """A record with this key already exists."""


class ConcurrencyError(StorageError):
    """ETag mismatch: the record changed (or was deleted and re-created) since the caller read it."""


class RecordTooLargeError(StorageError):
    """The value is too large to store in one record (see `dataverse.storage.codec.MAX_VALUE_CHARS`)."""


class RecordGoneError(ConcurrencyError, RecordNotFoundError):
    """An ETag-conditional write found no record at all: someone else deleted (or consumed) it first.

    A lost race like any ConcurrencyError, and a missing record like any RecordNotFoundError, so callers catching
    either see it. The stores raise plain RecordNotFoundError; `TypedCollection` raises this for conditional writes.
    """
