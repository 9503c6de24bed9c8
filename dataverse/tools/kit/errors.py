"""The errors tools raise, drawn once, and the one table that translates Web API client errors into them.

Every error here is an MCP `ToolError`: MCPServer returns it as a tool result with `isError: true` and the message as
text, which the model reads. So each message says what went wrong *and* how to change the call to fix it.

    DataverseToolError(ToolError)          base of every error a tool raises on purpose
    ├── NotSignedInError                   no authenticated caller reached the tool
    ├── InvalidArgumentError               the model can fix the call by changing its arguments
    │   ├── UnknownTableError              no such table, or policy hides it
    │   ├── UnknownColumnError             a column the table does not have
    │   ├── InvalidRecordIdError           an id that is not a GUID
    │   ├── InvalidCursorError             malformed, altered, expired or someone else's cursor
    │   ├── InvalidFetchXmlQueryError      FetchXML refused before it was sent
    │   ├── UnknownEnvironmentError        not a configured environment
    │   └── InvalidValueError              a value that does not fit its column (values/convert.py)
    │       └── ReadOnlyColumnError, AmbiguousValueError, LookupNotFoundError, UnknownTimeZoneError
    ├── DataverseRefusedError              Dataverse answered with an error (TRANSLATIONS below)
    └── ProposalError                      a confirmation refused (tools/confirm/proposals.py)

`dataverse_errors(...)` wraps a block that talks to Dataverse: client errors go through TRANSLATIONS, the client's
own argument checks (ValueError, InvalidFetchXmlError) become InvalidArgumentError. The `Target` says what the call
was doing (a read, a create, an update), which is all the table needs to pick the next step it suggests.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from mcp.server.mcpserver.exceptions import ToolError

from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.fetchxml import DEFAULT_MAX_BYTES, InvalidFetchXmlError
from dataverse.webapi.odata import format_guid, quote_string


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


class InvalidValueError(InvalidArgumentError):
    """A value that does not fit its column; the message names the column and the accepted form."""


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


# --- the translation table -------------------------------------------------------------------------------------------

Operation = Literal["read", "create", "update"]
QueryLanguage = Literal["odata", "fetchxml"]


@dataclass(frozen=True)
class Target:
    """What the failed call was doing: enough for a message to name the next step."""

    operation: Operation = "read"
    language: QueryLanguage = "odata"  # which advice a refused query gets
    table: str | None = None
    record_id: str | None = None
    primary_name: str | None = None  # create: the table's primary name column ...
    given_name: object = None  # ... and the value the call gave it, to say how to look for the new record


Translation = Callable[[webapi_errors.DataverseError, Target], DataverseToolError]


_MISSING_PROPERTY = re.compile(
    r"Could not find a property named '([^']+)' on type '(?:Microsoft\.Dynamics\.CRM\.)?([^']+)'")


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message).strip()


def _throttled(exc: webapi_errors.DataverseError, _: Target) -> DataverseToolError:
    retry_after = getattr(exc, "retry_after", None)
    wait = f"retry after {int(retry_after + 0.999)} s." if retry_after else "retry in a minute."
    return DataverseRefusedError(
        f"Dataverse throttled this request (service protection limits for this user), {wait} "
        "Fewer, narrower queries (a filter, fewer columns, FetchXML aggregates) help avoid this."
    )


def _permission_denied(exc: webapi_errors.DataverseError, _: Target) -> DataverseToolError:
    return DataverseRefusedError(
        f"The signed-in user does not have permission for this in Dataverse: {_message(exc)} "
        "Security roles decide this; retrying will not help. Tell the user, or query something they can see."
    )


def _not_authenticated(exc: webapi_errors.DataverseError, _: Target) -> DataverseToolError:
    return DataverseRefusedError(
        f"Dataverse did not accept the signed-in user's credentials ({_message(exc)}). "
        "Ask the user to disconnect and reconnect this connector to sign in again."
    )


def _changed_since_read(exc: webapi_errors.DataverseError, target: Target) -> DataverseToolError:
    return DataverseRefusedError(
        "The record changed since you read it (its etag no longer matches), so the update was not applied. "
        f"get_record({target.table!r}, {target.record_id}) again and retry with the new etag, if the change still "
        "makes sense."
    )


def _not_found(exc: webapi_errors.DataverseError, target: Target) -> DataverseToolError:
    if target.operation == "update":
        return DataverseRefusedError(
            f"No {target.table} with id {target.record_id} exists, or the signed-in user cannot see it "
            f"({_message(exc)}). Check the id (copy it from a query_records result); update_record never creates "
            "a record."
        )
    if target.operation == "create":
        return DataverseRefusedError(
            f"Dataverse could not find something this {target.table} points at: {_message(exc)} Check the lookup ids."
        )
    if target.record_id is not None:
        return DataverseRefusedError(
            f"No {target.table or 'record'} with id {target.record_id} exists, or the signed-in user cannot see it. "
            "Check the id (copy it from a query_records result) and the table."
        )
    return DataverseRefusedError(f"Dataverse could not find what was asked for: {_message(exc)}")


STATE_BY_ACTION_CODE = "0x80100005"  # CannotUseOpportunitySetStateMessage


def _bad_request(exc: webapi_errors.DataverseError, target: Target) -> DataverseToolError:
    message = _message(exc)
    if exc.code.lower() == STATE_BY_ACTION_CODE:
        return DataverseRefusedError(
            f"Dataverse does not close an opportunity by update: {message} Nothing was changed. Close it as won or "
            "lost with close_opportunity (Dataverse's WinOpportunity and LoseOpportunity), which also records the "
            "actual revenue and close date.")
    if target.operation != "read":
        return DataverseRefusedError(
            f"Dataverse refused the values: {message} Fix the column it names — describe_table({target.table!r}) "
            "lists each column's type, choices and lookup targets — and call again."
        )
    if target.language == "fetchxml":
        return InvalidFetchXmlQueryError(
            f"Dataverse rejected the FetchXML: {message} Check the table and column logical names "
            "(describe_table), the operators (eq, ne, like, in, between, on-or-after, last-x-days, this-month, "
            "eq-userid, ...), and that an aggregate query gives every attribute an alias.")
    missing = _MISSING_PROPERTY.search(message)
    if missing:
        return DataverseRefusedError(
            f"Dataverse rejected the query: {message} Check the column names with describe_table({missing[2]!r}); "
            "lookup columns are filtered and sorted as _<column>_value (e.g. _customerid_value eq <guid>)."
        )
    return DataverseRefusedError(
        f"Dataverse rejected the query: {message} Fix the argument it names and call again. "
        "OData filters use eq ne gt ge lt le, and/or/not, contains(col,'x'), strings in single quotes "
        "(double a quote to escape it), GUIDs unquoted, dates like 2026-01-31."
    )


def _timed_out(exc: webapi_errors.DataverseError, _: Target) -> DataverseToolError:
    return DataverseRefusedError(
        "Dataverse did not answer in time. Retry once; if it fails again, narrow the query "
        "(add a filter, select fewer columns, use a smaller top)."
    )


def _outcome_unknown(exc: webapi_errors.DataverseError, target: Target) -> DataverseToolError:
    if target.operation == "create":
        name = target.table
        if isinstance(target.given_name, str) and target.primary_name:
            condition = f"{target.primary_name} eq {quote_string(target.given_name)}"
            check = f"query_records(table={name!r}, filter=\"{condition}\")"
        else:
            check = f"query_records(table={name!r}) for the new record"
        return DataverseRefusedError(
            f"The outcome is unknown: the connection failed after the create was sent ({_message(exc)}), so the "
            f"{name} may or may not exist now. Do not simply retry. Check with {check} before retrying, and "
            "create it only if it is not there; otherwise you may make a duplicate."
        )
    if target.operation == "update":
        return DataverseRefusedError(
            f"The outcome is unknown: the connection failed after the update was sent ({_message(exc)}). get_record "
            f"({target.table!r}, {target.record_id}) shows whether it was applied; sending the same update again is "
            "safe."
        )
    return DataverseRefusedError(f"Dataverse did not confirm the result ({_message(exc)}). Retrying a read is safe.")


def _other(exc: webapi_errors.DataverseError, _: Target) -> DataverseToolError:
    where = f" (HTTP {exc.status})" if exc.status else ""
    return DataverseRefusedError(
        f"Dataverse returned an error{where}: {_message(exc)} Retrying may help if it is transient."
    )


# Most specific first: the first class the error is an instance of decides.
TRANSLATIONS: tuple[tuple[type[webapi_errors.DataverseError], Translation], ...] = (
    (webapi_errors.ThrottledError, _throttled),
    (webapi_errors.PermissionDeniedError, _permission_denied),
    (webapi_errors.AuthenticationError, _not_authenticated),
    (webapi_errors.ConcurrencyError, _changed_since_read),
    (webapi_errors.NotFoundError, _not_found),
    (webapi_errors.BadRequestError, _bad_request),
    (webapi_errors.DataverseTimeoutError, _timed_out),
    (webapi_errors.OutcomeUnknownError, _outcome_unknown),
    (webapi_errors.DataverseError, _other),
)


def translate_dataverse_error(exc: webapi_errors.DataverseError, target: Target | None = None) -> DataverseToolError:
    """The ToolError the model should see for a Dataverse client error raised while serving a call."""
    target = target or Target()
    for error_type, translation in TRANSLATIONS:
        if isinstance(exc, error_type):
            return translation(exc, target)
    return _other(exc, target)  # unreachable: DataverseError is the last row


@contextmanager
def dataverse_errors(*, operation: Operation = "read", language: QueryLanguage = "odata", table: str | None = None,
                     record_id: str | None = None, primary_name: str | None = None,
                     given_name: object = None) -> Iterator[None]:
    """Run a block, turning Dataverse client errors (TRANSLATIONS) and the client's own argument checks (ValueError:
    bad identifier, GUID, filter, URL too long; InvalidFetchXmlError) into model-readable ToolErrors."""
    try:
        yield
    except InvalidFetchXmlError as exc:
        raise InvalidFetchXmlQueryError(
            f"The FetchXML was refused before it was sent: {_message(exc)} "
            "Send one <fetch> element with an <entity name='...'> inside, no DOCTYPE or entities, "
            f"attribute values in quotes, and keep it under {DEFAULT_MAX_BYTES:,} bytes."
        ) from exc
    except webapi_errors.DataverseError as exc:
        target = Target(operation=operation, language=language, table=table, record_id=record_id,
                        primary_name=primary_name, given_name=given_name)
        raise translate_dataverse_error(exc, target) from exc
    except ValueError as exc:
        raise InvalidArgumentError(f"{str(exc).rstrip('.')}. Fix this argument and call again.") from exc
