"""Activating, deactivating and setting statuses: `set_record_state`, for tables where a plain update of `statecode`
and `statuscode` is how Dataverse does it (accounts, contacts, activities, most custom tables). Opportunities and
leads close through their own messages, so for them the tool names the tool that does it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import RecordId, TableName
from dataverse.tools.kit.registry import WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table
from dataverse.tools.schema.selection import columns_by_name
from dataverse.tools.values.convert import match_choice
from dataverse.tools.values.links import record_url
from dataverse.tools.values.shaping import shape_row

ELSEWHERE = {
    "opportunity": "close_opportunity (won or lost) or reopen_opportunity",
    "lead": "qualify_lead or disqualify_lead",
}

group: ToolGroup[None] = ToolGroup("state")


class StateResult(ResultModel):
    table: str
    id: str
    state: dict[str, object]
    status: dict[str, object] | None = None
    url: str


@group.tool(title="Set a record's state", annotations=WRITE.but(idempotent=True), requires="write", description=(
    "Activate or deactivate a record, or set its status reason, by label (e.g. state 'Inactive')."))
async def set_record_state(
    call: ToolCall, table: TableName, id: RecordId,
    state: Annotated[str, Field(description="The state, by label or value, e.g. 'Active', 'Inactive'.")],
    status: Annotated[str | None, Field(description="A status reason of that state; default its first.")] = None,
) -> StateResult:
    record_id = record_id_argument(id)
    metadata = await describe_named_table(call, table)
    summary = metadata.table
    if summary.logical_name in ELSEWHERE:
        raise InvalidArgumentError(f"A {summary.logical_name}'s state changes through {ELSEWHERE[summary.logical_name]}"
                                   ", which Dataverse requires. Nothing was changed.")
    columns = columns_by_name(metadata)
    if "statecode" not in columns or "statuscode" not in columns:
        raise InvalidArgumentError(f"{summary.logical_name} records have no state to set.")
    chosen_state = match_choice(columns["statecode"], state, where=f"{summary.logical_name}.statecode")
    reasons = [o for o in columns["statuscode"].options or [] if o.state == chosen_state.value]
    if status:
        chosen_status = match_choice(columns["statuscode"], status, where=f"{summary.logical_name}.statuscode")
        if chosen_status.state != chosen_state.value:
            listed = ", ".join(o.label for o in reasons)
            raise InvalidArgumentError(f"{chosen_status.label!r} is not a status reason of {chosen_state.label!r}; "
                                       f"use one of: {listed}. Nothing was changed.")
    elif reasons:
        chosen_status = reasons[0]
    else:
        raise InvalidArgumentError(f"{chosen_state.label!r} has no status reason in this environment.")
    with dataverse_errors(operation="update", table=summary.logical_name, record_id=record_id):
        await call.client.update(summary.entity_set, record_id,
                                 {"statecode": chosen_state.value, "statuscode": chosen_status.value})
        row = await call.client.retrieve(summary.entity_set, record_id, select=["statecode", "statuscode"])
    shaped = shape_row(row, columns)
    return StateResult(table=summary.logical_name, id=record_id, state=shaped.get("statecode") or {},
                       status=shaped.get("statuscode"), url=record_url(call, summary.logical_name, record_id))
