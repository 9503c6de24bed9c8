"""Writing records: `create_record` and `update_record`, with values as people say them (labels, names, local times).

Values are checked against the table's metadata and converted before anything is sent (values/convert.py for columns,
values/lookups.py for lookups), so a mistake comes back as a message that names the fix, not as a Dataverse error.
A create is sent once and never retried: when its outcome is unknown the model is told to look before creating
again. An update is `PATCH` with `If-Match` (the caller's etag, or `*` so it can never become an upsert). Both answer
with the record's id, primary name, etag and a link that opens it in Dataverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from dataverse.audit import current_scope
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import RecordId, TableName
from dataverse.tools.kit.registry import DESTRUCTIVE, WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table
from dataverse.tools.values.links import record_url
from dataverse.tools.values.write_body import write_body
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.models import TableSummary

group: ToolGroup[None] = ToolGroup("write")

Values = Annotated[dict[str, Any], Field(description=(
    "Column logical name -> value: choices by label or value; date-times without offset are the user's local "
    "time; lookups by name, {\"table\",\"id\"} or 'me'; null clears."))]


class WriteResult(ResultModel):
    table: str
    id: str = Field(description="The record's id.")
    name: str | None = Field(None, description="The record's primary name.")
    url: str = Field(description="Opens the record in Dynamics 365 / Power Apps.")
    etag: str | None = Field(None, description="Pass to update_record as etag to update only if nothing changed.")
    values: dict[str, Any] = Field(description=(
        "What was written, as understood: choices {value,label}, lookups {table,id,name}, date-times in UTC."))


@group.tool(title="Create a record", annotations=WRITE, requires="write", description=(
    "Create one record as the signed-in user; returns its id, name, etag and link."))
async def create_record(call: ToolCall, table: TableName, values: Values) -> WriteResult:
    metadata = await describe_named_table(call, table)
    summary = metadata.table
    body, understood = await write_body(call, metadata, values, operation="create", record_id=None)
    primary = summary.primary_name
    with dataverse_errors(operation="create", table=summary.logical_name, primary_name=primary,
                          given_name=values.get(primary) if primary else None):
        record_id = await call.client.create(summary.entity_set, body)
    if (scope := current_scope()) is not None:
        scope.set_target(record_id=record_id)
    return await _result(call, summary, record_id, values, understood)


@group.tool(title="Update a record", annotations=DESTRUCTIVE.but(idempotent=True), requires="write", description=(
    "Change columns of one existing record; never creates one."))
async def update_record(
    call: ToolCall, table: TableName, id: RecordId, values: Values,
    etag: Annotated[str | None, Field(description="Apply only if the record still has this etag.")] = None,
) -> WriteResult:
    record_id = record_id_argument(id)
    metadata = await describe_named_table(call, table)
    summary = metadata.table
    body, understood = await write_body(call, metadata, values, operation="update", record_id=record_id)
    with dataverse_errors(operation="update", table=summary.logical_name, record_id=record_id):
        await call.client.update(summary.entity_set, record_id, body, etag=_clean_etag(etag))
    return await _result(call, summary, record_id, values, understood)


async def _result(call: ToolCall, summary: TableSummary, record_id: str, values: Mapping[str, Any],
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
    return WriteResult(table=summary.logical_name, id=record_id, name=name if isinstance(name, str) else None,
                       url=record_url(call, summary.logical_name, record_id), etag=etag,
                       values=understood)


def _clean_etag(etag: str | None) -> str | None:
    if etag is None or not etag.strip():
        return None
    etag = etag.strip()
    if etag == "*" or any(ch in etag for ch in "\r\n,"):
        raise InvalidArgumentError("`etag` must be the record's etag as a write or get result gave it, e.g. "
                                   "'W/\"1480021\"'; omit it to update regardless of changes.")
    return etag
