"""The write tools: create_record and update_record, with values as people say them (labels, names, local times).

Values are checked against the table's metadata and converted before anything is sent (write_values.py for columns,
write_lookups.py for lookups), so a mistake comes back as a message that names the fix, not as a Dataverse error.
A create is sent once and never retried: when its outcome is unknown the model is told to look before creating
again. An update is `PATCH` with `If-Match` (the caller's etag, or `*` so it can never become an upsert). Both answer
with the record's id, primary name, etag and a link that opens it in Dataverse.

`register_write_tools(server, runtime)` adds them unless the administrator's policy is read-only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import tzinfo
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from dataverse.audit import current_scope
from dataverse.tools.context import ToolCall, ToolRuntime
from dataverse.tools.errors import (
    DataverseRefusedError,
    InvalidArgumentError,
    dataverse_errors,
    record_id_argument,
    translate_dataverse_error,
)
from dataverse.tools.registration import without_parameter
from dataverse.tools.results import ResultModel, WhoAmIResult, tool_result
from dataverse.tools.tables import LOOKUP_TYPES, get_table, resolve_table
from dataverse.tools.write_lookups import LookupResolver
from dataverse.tools.write_timezones import UnknownTimeZoneError, get_user_zone
from dataverse.tools.write_values import (
    CHOICE_TYPES,
    DateTimeBehavior,
    InvalidValueError,
    Operation,
    check_columns,
    convert_value,
    match_choice,
)
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.metadata import entity_definition_path
from dataverse.webapi.models import ColumnMetadata, TableMetadata, TableSummary
from dataverse.webapi.odata import quote_string

TableName = Annotated[str, Field(description="Table logical name, e.g. 'contact', 'appointment' (see list_tables).")]
Environment = Annotated[str | None, Field(description="Dataverse environment URL; omit for the default environment.")]
Values = Annotated[dict[str, Any], Field(description=(
    "Column logical name -> value. Text and numbers as JSON; choices by label or value ('Hot' or 1); booleans "
    "true/false; date-times ISO 8601 — without an offset they are the user's local time ('2026-03-13T14:00:00'); "
    "date-only columns 'YYYY-MM-DD'; lookups by name ('Contoso Ltd'), {\"table\": \"account\", \"id\": \"<guid>\"}, "
    "{\"table\": \"account\", \"name\": \"Contoso\"}, or 'me' for the signed-in user (ownerid); null clears."))]


class WriteResult(ResultModel):
    table: str
    id: str = Field(description="The record's id.")
    name: str | None = Field(None, description="The record's primary name.")
    url: str = Field(description="Opens the record in Dynamics 365 / Power Apps.")
    etag: str | None = Field(None, description="Pass to update_record as etag to update only if nothing changed.")
    values: dict[str, Any] = Field(description=(
        "What was written, as understood: choices {value,label}, lookups {table,id,name}, date-times in UTC."))


class WriteTools:
    """The write tools bound to one ToolRuntime; `register_write_tools` registers the methods."""

    def __init__(self, runtime: ToolRuntime):
        self.runtime = runtime

    async def create_record(self, table: TableName, values: Values,
                            environment: Environment = None) -> Annotated[CallToolResult, WriteResult]:
        call = self.runtime.begin_call(environment)
        summary, metadata = await self._table(call, table)
        body, understood = await self._body(call, metadata, values, operation="create", record_id=None)
        with write_errors("create", summary, record_id=None, values=values):
            record_id = await call.client.create(summary.entity_set, body)
        if (scope := current_scope()) is not None:
            scope.set_target(record_id=record_id)
        return tool_result(await self._result(call, summary, record_id, values, understood))

    async def update_record(
        self, table: TableName,
        id: Annotated[str, Field(description="The record's id (a GUID).")],
        values: Values,
        etag: Annotated[str | None, Field(description=(
            "The etag from when you read the record: the update is applied only if the record has not changed "
            "since. Omit to update whatever its current state."))] = None,
        environment: Environment = None,
    ) -> Annotated[CallToolResult, WriteResult]:
        call = self.runtime.begin_call(environment)
        record_id = record_id_argument(id)
        summary, metadata = await self._table(call, table)
        body, understood = await self._body(call, metadata, values, operation="update", record_id=record_id)
        with write_errors("update", summary, record_id=record_id, values=values):
            await call.client.update(summary.entity_set, record_id, body, etag=_clean_etag(etag))
        return tool_result(await self._result(call, summary, record_id, values, understood))

    # --- helpers -------------------------------------------------------------------------------------------------
    async def _table(self, call: ToolCall, table: str) -> tuple[TableSummary, TableMetadata]:
        summary = await resolve_table(self.runtime, call, table)
        return summary, await get_table(self.runtime, call, summary)

    async def _whoami(self, call: ToolCall) -> WhoAmIResult:
        async def create() -> WhoAmIResult:  # the same cache entry whoami fills
            with dataverse_errors():
                identity = await call.client.whoami()
                profile = await call.client.get_user_profile(identity.user_id)
            return WhoAmIResult(user_id=identity.user_id, name=profile.full_name, email=profile.email,
                                business_unit=profile.business_unit, time_zone_code=profile.timezone_code,
                                environment=call.environment)

        return await self.runtime.metadata.get_whoami(call.environment, call.user, create)

    async def _datetime_behaviors(self, call: ToolCall, table: str) -> dict[str, DateTimeBehavior]:
        """How each DateTime column of `table` stores values, cached beside the table's metadata."""

        async def create() -> dict[str, DateTimeBehavior]:
            path = f"{entity_definition_path(table)}/Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata"
            with dataverse_errors(table=table):
                _, body = await call.client.request_json(
                    "GET", path, params={"$select": "LogicalName,Format,DateTimeBehavior"})
            rows = body.get("value", []) if isinstance(body, dict) else []
            return {
                row["LogicalName"]: DateTimeBehavior(
                    date_only=row.get("Format") == "DateOnly"
                    or (row.get("DateTimeBehavior") or {}).get("Value") == "DateOnly",
                    time_zone_independent=(row.get("DateTimeBehavior") or {}).get("Value") == "TimeZoneIndependent",
                )
                for row in rows if isinstance(row, dict) and row.get("LogicalName")
            }

        return await self.runtime.metadata.get_table(call.environment, f"{table}#datetime", create)

    async def _body(self, call: ToolCall, metadata: TableMetadata, values: Mapping[str, Any], *,
                    operation: Operation, record_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The request body and the values as understood (for the result)."""
        if not isinstance(values, Mapping) or not values:
            raise InvalidArgumentError("Pass `values`: an object of column logical name -> value, e.g. "
                                       "{\"jobtitle\": \"CFO\"}. describe_table lists the columns.")
        table = metadata.table.logical_name
        columns = check_columns(metadata, values, operation=operation)
        given = {name: values[key] for name, key in zip(columns, values, strict=True)}
        behaviors: dict[str, DateTimeBehavior] = {}
        zone: tzinfo | None = None
        zone_error: UnknownTimeZoneError | None = None
        if any(column.type == "DateTime" for column in columns.values()):
            behaviors = await self._datetime_behaviors(call, table)
            try:
                zone = get_user_zone((await self._whoami(call)).time_zone_code)
            except UnknownTimeZoneError as error:
                zone_error = error
        resolver = LookupResolver(self.runtime, call, metadata,
                                  get_user_id=lambda: self._user_id(call))
        body: dict[str, Any] = {}
        understood: dict[str, Any] = {}
        for name, column in columns.items():
            value = given[name]
            if column.type in LOOKUP_TYPES:
                binding = await resolver.resolve(column, value, record_id=record_id)
                if binding.target is not None or operation == "update":
                    body[binding.body_key] = binding.body_value
                target = binding.target
                understood[name] = None if target is None else {"table": target.table, "id": target.id} | (
                    {"name": target.name} if target.name else {})
                continue
            try:
                converted = convert_value(column, value, table=table, behavior=behaviors.get(name), zone=zone)
            except InvalidValueError:
                if zone_error is not None and column.type == "DateTime":
                    raise zone_error from None
                raise
            body[name] = converted
            understood[name] = _understood(column, converted)
        return body, understood

    async def _user_id(self, call: ToolCall) -> str:
        return (await self._whoami(call)).user_id

    async def _result(self, call: ToolCall, summary: TableSummary, record_id: str, values: Mapping[str, Any],
                      understood: dict[str, Any]) -> WriteResult:
        """The written record's name and etag, read back as the user (left out if it is no longer visible)."""
        name = values.get(summary.primary_name) if summary.primary_name else None
        etag = None
        try:
            row = await call.client.retrieve(summary.entity_set, record_id,
                                             select=[summary.primary_name or summary.primary_id], annotations=False)
            name, etag = row.get(summary.primary_name) if summary.primary_name else None, row.get("@odata.etag")
        except webapi_errors.DataverseError:
            pass
        url = f"{call.environment}/main.aspx?etn={summary.logical_name}&id={record_id}&pagetype=entityrecord"
        return WriteResult(table=summary.logical_name, id=record_id, name=name if isinstance(name, str) else None,
                           url=url, etag=etag, values=understood)


def _understood(column: ColumnMetadata, converted: Any) -> Any:
    if column.type in CHOICE_TYPES and converted is not None:
        return {"value": converted, "label": match_choice(column, converted, where=column.logical_name).label}
    return converted


def _clean_etag(etag: str | None) -> str | None:
    if etag is None or not etag.strip():
        return None
    etag = etag.strip()
    if etag == "*" or any(ch in etag for ch in "\r\n,"):
        raise InvalidArgumentError("`etag` must be the record's etag as a write or get result gave it, e.g. "
                                   "'W/\"1480021\"'; omit it to update regardless of changes.")
    return etag


@contextmanager
def write_errors(operation: Operation, table: TableSummary, *, record_id: str | None,
                 values: Mapping[str, Any]) -> Iterator[None]:
    """Dataverse failures of a create or update as messages that say what happened and what to do next."""
    name = table.logical_name
    try:
        yield
    except webapi_errors.OutcomeUnknownError as exc:
        if operation == "create":
            primary = table.primary_name
            given = values.get(primary) if primary else None
            check = (f"query_records(table={name!r}, filter=\"{primary} eq {quote_string(given)}\")"
                     if isinstance(given, str) else f"query_records(table={name!r}) for the new record")
            raise DataverseRefusedError(
                f"The outcome is unknown: the connection failed after the create was sent ({exc.message}), so the "
                f"{name} may or may not exist now. Do not simply retry. Check with {check} before retrying, and "
                "create it only if it is not there; otherwise you may make a duplicate."
            ) from exc
        raise DataverseRefusedError(
            f"The outcome is unknown: the connection failed after the update was sent ({exc.message}). get_record "
            f"({name!r}, {record_id}) shows whether it was applied; sending the same update again is safe."
        ) from exc
    except webapi_errors.ConcurrencyError as exc:
        raise DataverseRefusedError(
            f"The record changed since you read it (its etag no longer matches), so the update was not applied. "
            f"get_record({name!r}, {record_id}) again and retry with the new etag, if the change still makes sense."
        ) from exc
    except webapi_errors.BadRequestError as exc:
        raise DataverseRefusedError(
            f"Dataverse refused the values: {exc.message} Fix the column it names — describe_table({name!r}) lists "
            "each column's type, choices and lookup targets — and call again."
        ) from exc
    except webapi_errors.NotFoundError as exc:
        if operation == "update":
            raise DataverseRefusedError(
                f"No {name} with id {record_id} exists, or the signed-in user cannot see it ({exc.message}). "
                "Check the id (copy it from a query_records result); update_record never creates a record."
            ) from exc
        raise DataverseRefusedError(
            f"Dataverse could not find something this {name} points at: {exc.message} Check the lookup ids."
        ) from exc
    except webapi_errors.DataverseError as exc:
        raise translate_dataverse_error(exc, table=name, record_id=record_id) from exc
    except ValueError as exc:
        raise InvalidArgumentError(f"{str(exc).rstrip('.')}. Fix this argument and call again.") from exc


# name -> (title, description, destructive, idempotent); an update overwrites values, so it counts as destructive
WRITE_TOOL_DESCRIPTIONS: dict[str, tuple[str, str, bool, bool]] = {
    "create_record": ("Create a record", (
        "Create one record as the signed-in user. Columns are logical names (describe_table first); choices by "
        "label, lookups by name or id, date-times in the user's local time. Returns id, name, etag and a link. "
        "Never call twice for one record: if the outcome is unknown, query for it first."), False, False),
    "update_record": ("Update a record", (
        "Change columns of one existing record (never creates one). Same value forms as create_record; null "
        "clears a column. Pass etag from the last read to avoid overwriting someone else's change."), True, True),
}


def register_write_tools(server: MCPServer, runtime: ToolRuntime) -> WriteTools | None:
    """Add create_record and update_record to `server`, unless the policy is read-only (then nothing is added)."""
    if runtime.settings.access_mode == "read_only":
        return None

    tools = WriteTools(runtime)
    for name, (title, description, destructive, idempotent) in WRITE_TOOL_DESCRIPTIONS.items():
        fn = getattr(tools, name)
        if len(runtime.environments) <= 1:
            fn = without_parameter(fn, "environment")
        server.add_tool(
            fn, name=name, title=title, description=description, structured_output=True,
            annotations=ToolAnnotations(title=title, readOnlyHint=False, destructiveHint=destructive,
                                        idempotentHint=idempotent, openWorldHint=False),
        )
    return tools
