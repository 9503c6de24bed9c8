"""How Azure SDK failures become storage errors: the one place azure.core exceptions are mapped.

ResourceExistsError                         -> RecordExistsError
ResourceModifiedError, HTTP 412             -> ConcurrencyError
ResourceNotFoundError                       -> RecordNotFoundError
ServiceRequest/ResponseError, OSError,
timeouts, HTTP 408/429/5xx, auth failures   -> StorageUnavailableError (callers answer 503)
any other HTTP error                        -> StorageError
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from .errors import ConcurrencyError, RecordExistsError, RecordNotFoundError, StorageError, StorageUnavailableError


def _error_code(error: HttpResponseError) -> str:
    code = getattr(error, "error_code", None)
    headers = getattr(error.response, "headers", None)  # not part of azure-core's response protocol, but always there
    if not code and isinstance(headers, Mapping):
        code = headers.get("x-ms-error-code")
    return str(getattr(code, "value", code) or "")


def table_missing(error: AzureError) -> bool:
    return isinstance(error, ResourceNotFoundError) and (
        _error_code(error) == "TableNotFound" or "TableNotFound" in str(error)
    )


@asynccontextmanager
async def translated_errors(what: str) -> AsyncIterator[None]:
    """Map azure.core exceptions to the storage hierarchy."""
    try:
        yield
    except ResourceExistsError as error:
        raise RecordExistsError(f"{what}: a record with this key already exists") from error
    except ResourceModifiedError as error:
        raise ConcurrencyError(f"{what}: the record changed since it was read") from error
    except ResourceNotFoundError as error:
        raise RecordNotFoundError(f"{what}: no record with this key") from error
    except (ServiceRequestError, ServiceResponseError, OSError, TimeoutError) as error:
        raise StorageUnavailableError(f"{what}: Table Storage is unreachable: {error}") from error
    except ClientAuthenticationError as error:
        raise StorageUnavailableError(f"{what}: cannot authenticate to Table Storage: {error}") from error
    except HttpResponseError as error:
        if error.status_code == 412:
            raise ConcurrencyError(f"{what}: the record changed since it was read") from error
        if error.status_code is None or error.status_code >= 500 or error.status_code in (408, 429):
            raise StorageUnavailableError(f"{what}: Table Storage failed: {error.message}") from error
        raise StorageError(f"{what}: Table Storage refused the request: {error.message}") from error
    except AzureError as error:
        raise StorageUnavailableError(f"{what}: Table Storage error: {error}") from error
