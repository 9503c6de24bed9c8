"""Changing hands: `assign_record` gives a record to a user or a team (by name, email or "me"), the way Dataverse
assigns: an update of `ownerid` bound to the new owner, with `If-Match: *` so it can never create a record. Row
security follows the new owner, so the answer says whether the signed-in user can still see the record."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import RecordId, TableName
from dataverse.tools.kit.registry import WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table, get_whoami
from dataverse.tools.schema.policy import require_table_allowed
from dataverse.tools.values.links import record_url
from dataverse.tools.values.principals import resolve_principal
from dataverse.webapi.errors import NotFoundError

group: ToolGroup[None] = ToolGroup("ownership")


class AssignResult(ResultModel):
    table: str
    id: str
    name: str | None = None
    owner: dict[str, str | None]
    previous_owner: dict[str, str | None] | None = None
    you_can_still_see_it: bool
    note: str | None = None
    url: str


@group.tool(title="Assign a record", annotations=WRITE.but(idempotent=True), requires="write", description=(
    "Give a record to a user or a team (by name, email or 'me'); says whether you can still see it afterwards."))
async def assign_record(
    call: ToolCall, table: TableName, id: RecordId,
    owner: Annotated[str, Field(description="The new owner: a user's name or email, a team's name, or 'me'.")],
) -> AssignResult:
    record_id = record_id_argument(id)
    metadata = await describe_named_table(call, table)
    summary = metadata.table
    if not any(column.logical_name == "ownerid" for column in metadata.columns):
        raise InvalidArgumentError(f"{summary.logical_name} records have no owner (the table is organization-owned), "
                                   "so they cannot be assigned.")
    principal = await resolve_principal(call, owner)
    require_table_allowed(call.settings, principal.table)
    name_column = summary.primary_name or summary.primary_id
    with dataverse_errors(table=summary.logical_name, record_id=record_id):
        before = await call.client.retrieve(summary.entity_set, record_id, select=[name_column, "_ownerid_value"])
    previous = {"table": before.get("_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"),
                "id": before.get("_ownerid_value"),
                "name": before.get("_ownerid_value@OData.Community.Display.V1.FormattedValue")}
    with dataverse_errors(operation="update", table=summary.logical_name, record_id=record_id):
        await call.client.update(summary.entity_set, record_id,
                                 {"ownerid@odata.bind": f"/{principal.entity_set}({principal.id})"})
    try:
        await call.client.retrieve(summary.entity_set, record_id, select=[summary.primary_id], annotations=False)
        visible = True
    except NotFoundError:
        visible = False
    me = await get_whoami(call)
    note = None if visible else (f"{me.name} can no longer see this record: it belongs to {principal.name} now, and "
                                 "the security roles let you see only what you own or share.")
    return AssignResult(
        table=summary.logical_name, id=record_id, name=before.get(name_column),
        owner={"table": principal.table, "id": principal.id, "name": principal.name},
        previous_owner=previous if previous["id"] else None, you_can_still_see_it=visible, note=note,
        url=record_url(call, summary.logical_name, record_id))

