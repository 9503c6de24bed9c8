"""Errors the tools raise on purpose, and the translation of Dataverse and validation failures into them.

Every error here is an MCP `ToolError`: MCPServer returns it as a tool result with `isError: true` and the message as
text, which the model reads. So each message says what went wrong *and* how to change the call to fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.fetchxml import DEFAULT_MAX_BYTES, InvalidFetchXmlError
from dataverse.webapi.odata import format_guid


class DataverseToolError(ToolError):
    """Base of every error a tool raises deliberately; the message is written for the model."""


class NotSignedInError(DataverseToolError):
    """The tool was called without an authenticated caller (no bearer token reached it)."""


class InvalidArgumentError(DataverseToolError):
    """The call's arguments are wrong in a way the model can fix by changing them."""


class UnknownTableError(InvalidArgumentError):
    """No table with that logical name exists in the environment (or policy hides it)."""


class UnknownColumnError(InvalidArgumentError):
    """A selected column does not exist on the table."""


class InvalidRecordIdError(InvalidArgumentError):
    """A record id that is not a GUID."""


class InvalidCursorError(InvalidArgumentError):
    """A cursor that is malformed, altered, expired, or issued to someone else."""

    def __init__(self, reason: str):
        super().__init__(f"{reason} Repeat the original query without `cursor` to start from the first page.")


class InvalidFetchXmlQueryError(InvalidArgumentError):
    """FetchXML that is not well formed, too large, or uses DTDs/entities."""


class UnknownEnvironmentError(InvalidArgumentError):
    """An `environment` argument that is not one of the configured Dataverse environments."""


class DataverseRefusedError(DataverseToolError):
    """Dataverse answered with an error: bad query, no permission, not found, throttled, unavailable."""


# --- helpers that build fixable messages -----------------------------------------------------------------------------


def nearest_names(name: str, candidates: Iterable[str], *, limit: int = 5) -> list[str]:
    """Up to `limit` candidates closest to `name` (difflib ratio), best first; substring matches count too."""
    pool = sorted(set(candidates))
    lowered = name.strip().lower()
    close = difflib.get_close_matches(lowered, pool, n=limit, cutoff=0.6)
    contains = [candidate for candidate in pool if lowered and lowered in candidate and candidate not in close]
    return (close + contains)[:limit]


def unknown_table_error(name: str, known_tables: Iterable[str]) -> UnknownTableError:
    suggestions = nearest_names(name, known_tables)
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    return UnknownTableError(
        f"There is no table with logical name {name!r} in this environment.{hint} "
        "Use list_tables(search=...) to find a table's logical name (singular, lower case, e.g. 'account')."
    )


def unknown_columns_error(table: str, unknown: list[str], valid_columns: Iterable[str]) -> UnknownColumnError:
    valid = sorted(valid_columns)
    parts = []
    for column in unknown:
        suggestions = nearest_names(column, valid, limit=3)
        parts.append(f"{column!r} (did you mean {', '.join(suggestions)}?)" if suggestions else repr(column))
    listed = ", ".join(valid[:200]) + (" ..." if len(valid) > 200 else "")
    return UnknownColumnError(
        f"Table {table!r} has no column {'; '.join(parts)}. Valid columns: {listed}. "
        f"describe_table({table!r}) shows their types."
    )


def invalid_record_id_error(record_id: str) -> InvalidRecordIdError:
    return InvalidRecordIdError(
        f"{record_id!r} is not a record id. Ids are GUIDs like '00000000-0000-0000-0000-000000000000'; "
        "take them from the id column of a query_records result."
    )


def record_id_argument(value: str) -> str:
    """A record id given by the model, as a canonical GUID; InvalidRecordIdError saying what an id looks like."""
    try:
        return format_guid(value)
    except ValueError:
        raise invalid_record_id_error(value) from None


def unknown_environment_error(environment: str, configured: Iterable[str]) -> UnknownEnvironmentError:
    return UnknownEnvironmentError(
        f"{environment!r} is not a Dataverse environment this server is configured for. "
        f"Use one of: {', '.join(configured)}."
    )


# --- Dataverse errors -------------------------------------------------------------------------------------------------

_MISSING_PROPERTY = re.compile(r"Could not find a property named '([^']+)' on type '(?:Microsoft\.Dynamics\.CRM\.)?([^']+)'")


def _dataverse_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message.strip()


def translate_dataverse_error(exc: BaseException, *, table: str | None = None,
                              record_id: str | None = None) -> DataverseToolError:
    """The ToolError the model should see for a Dataverse client error raised while serving a call."""
    message = _dataverse_message(exc)
    if isinstance(exc, webapi_errors.ThrottledError):
        retry_after = getattr(exc, "retry_after", None)
        wait = f"retry after {int(retry_after + 0.999)} s." if retry_after else "retry in a minute."
        return DataverseRefusedError(
            f"Dataverse throttled this request (service protection limits for this user), {wait} "
            "Fewer, narrower queries (a filter, fewer columns, FetchXML aggregates) help avoid this."
        )
    if isinstance(exc, webapi_errors.PermissionDeniedError):
        return DataverseRefusedError(
            f"The signed-in user does not have permission for this in Dataverse: {message} "
            "Security roles decide this; retrying will not help. Tell the user, or query something they can see."
        )
    if isinstance(exc, webapi_errors.AuthenticationError):
        return DataverseRefusedError(
            f"Dataverse did not accept the signed-in user's credentials ({message}). "
            "Ask the user to disconnect and reconnect this connector to sign in again."
        )
    if isinstance(exc, webapi_errors.NotFoundError):
        if record_id is not None:
            return DataverseRefusedError(
                f"No {table or 'record'} with id {record_id} exists, or the signed-in user cannot see it. "
                "Check the id (copy it from a query_records result) and the table."
            )
        return DataverseRefusedError(f"Dataverse could not find what was asked for: {message}")
    if isinstance(exc, webapi_errors.BadRequestError):
        missing = _MISSING_PROPERTY.search(message)
        if missing:
            column, on_table = missing.groups()
            return DataverseRefusedError(
                f"Dataverse rejected the query: {message} Check the column names with describe_table({on_table!r}); "
                "lookup columns are filtered and sorted as _<column>_value (e.g. _customerid_value eq <guid>)."
            )
        return DataverseRefusedError(
            f"Dataverse rejected the query: {message} Fix the argument it names and call again. "
            "OData filters use eq ne gt ge lt le, and/or/not, contains(col,'x'), strings in single quotes "
            "(double a quote to escape it), GUIDs unquoted, dates like 2026-01-31."
        )
    if isinstance(exc, webapi_errors.DataverseTimeoutError):
        return DataverseRefusedError(
            "Dataverse did not answer in time. Retry once; if it fails again, narrow the query "
            "(add a filter, select fewer columns, use a smaller top)."
        )
    if isinstance(exc, webapi_errors.OutcomeUnknownError):
        return DataverseRefusedError(f"Dataverse did not confirm the result ({message}). Retrying a read is safe.")
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    where = f" (HTTP {status})" if status else ""
    return DataverseRefusedError(f"Dataverse returned an error{where}: {message} Retrying may help if it is transient.")


@contextmanager
def dataverse_errors(*, table: str | None = None, record_id: str | None = None) -> Iterator[None]:
    """Run a block, turning Dataverse client errors and the client's own argument checks (ValueError: bad identifier,
    GUID, filter, URL too long; InvalidFetchXmlError) into model-readable ToolErrors."""
    try:
        yield
    except InvalidFetchXmlError as exc:
        raise InvalidFetchXmlQueryError(
            f"The FetchXML was refused before it was sent: {_dataverse_message(exc)} "
            "Send one <fetch> element with an <entity name='...'> inside, no DOCTYPE or entities, "
            f"attribute values in quotes, and keep it under {DEFAULT_MAX_BYTES:,} bytes."
        ) from exc
    except webapi_errors.DataverseError as exc:
        raise translate_dataverse_error(exc, table=table, record_id=record_id) from exc
    except ValueError as exc:
        raise InvalidArgumentError(f"{str(exc).rstrip('.')}. Fix this argument and call again.") from exc
