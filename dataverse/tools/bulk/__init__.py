"""Changing many records at once: `bulk_update_records` and `bulk_create_records` (up to 1,000 rows of one table, sent
in one `$batch`, atomic when asked) and `confirm_bulk_change`.

Every row's values are checked and converted as create_record and update_record do, before anything is sent; a row
that cannot be understood stops the call with its number, and nothing changes. Above BULK_CONFIRM_THRESHOLD rows the
call is only a proposal: how many rows change and a sample of before -> after, with a single-use, expiring token that
`confirm_bulk_change` consumes exactly once (tools/confirm/, as deletes do). An update sends each row with the ETag
it had when the change was proposed, so a row someone changed since is refused rather than overwritten. A batch is
never retried: when its outcome is unknown the answer says so and how to check."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import Field

from dataverse.tools.bulk.batch import RowOutcome, apply_batch
from dataverse.tools.bulk.rows import BulkRowError, before_and_etags, check_row_count, converted_rows
from dataverse.tools.confirm.proposals import BulkAction, Proposal, iso_utc
from dataverse.tools.confirm.setup import confirmation
from dataverse.tools.confirm.take import Confirmation
from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.errors import DataverseRefusedError, InvalidArgumentError
from dataverse.tools.kit.params import TableName
from dataverse.tools.kit.registry import DESTRUCTIVE, WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table
from dataverse.tools.schema.selection import columns_by_name
from dataverse.tools.values.links import record_link_template
from dataverse.tools.values.shaping import shape_row

SAMPLE_ROWS = 5
Atomic = Annotated[bool, Field(description="All rows or none (one change set).")]

def setup(runtime: ToolRuntime) -> Confirmation | None:
    """The bulk confirmation, or None where proposals have no shared store (then no bulk tool is offered)."""
    return confirmation(runtime, propose_tool="bulk_update_records", confirm_tool="confirm_bulk_change")


group: ToolGroup[Confirmation] = ToolGroup("bulk", setup=setup)


class BulkResult(ResultModel):
    status: Literal["done", "proposed"]
    table: str
    count: int
    succeeded: int | None = None
    failed: int | None = None
    results: list[RowOutcome] | None = None
    sample: list[dict[str, Any]] | None = None
    confirmation_token: str | None = None
    expires_at: str | None = None
    next_step: str | None = None
    link: str


@group.tool(title="Update many records", annotations=DESTRUCTIVE, requires="write", description=(
    "Update up to 1,000 records of one table in one batch, as update_record does each; many rows are proposed "
    "first."))
async def bulk_update_records(
    call: ToolCall, table: TableName,
    rows: Annotated[list[dict[str, Any]], Field(description="[{\"id\": \"<guid>\", \"values\": {...}}, ...]")],
    atomic: Atomic = True,
) -> BulkResult:
    return await _bulk(call, table, rows, "update", atomic)


@group.tool(title="Create many records", annotations=WRITE, requires="write", description=(
    "Create up to 1,000 records of one table in one batch, as create_record does each; many rows are proposed "
    "first."))
async def bulk_create_records(
    call: ToolCall, table: TableName,
    rows: Annotated[list[dict[str, Any]], Field(description="Values objects.")],
    atomic: Atomic = True,
) -> BulkResult:
    return await _bulk(call, table, rows, "create", atomic)


@group.tool(title="Confirm a bulk change", annotations=DESTRUCTIVE, requires="write", per_environment=False,
            description="Apply the bulk change a bulk_update_records or bulk_create_records proposal described.")
async def confirm_bulk_change(
    call: ToolCall,
    confirmation_token: Annotated[str, Field(description="From the proposal; works once.")],
) -> BulkResult:
    state = group.state(call)
    proposal, action = await state.take(confirmation_token, call.caller, BulkAction)
    call = call.in_environment(proposal.environment)
    try:
        outcomes = await apply_batch(call, proposal.table, action)
    except DataverseRefusedError as error:
        state.emit("change_failed", "confirm_bulk_change", "error", call.caller, proposal)
        raise DataverseRefusedError(f"{error} The confirmation token is used up; the batch was not retried.") from error
    state.emit("proposal_confirmed", "confirm_bulk_change", "ok", call.caller, proposal)
    return _done(call, proposal.table, action.operation, outcomes)


async def _bulk(call: ToolCall, table: str, rows: list[dict[str, Any]], operation: Literal["create", "update"],
                atomic: bool) -> BulkResult:
    check_row_count(rows)
    metadata = await describe_named_table(call, table)
    summary = metadata.table
    try:
        converted = await converted_rows(call, metadata, rows, operation)
    except BulkRowError as error:
        raise InvalidArgumentError(f"{error} Nothing was changed; fix that row and call again.") from None
    state = replace(group.state(call), propose_tool=f"bulk_{operation}_records")
    if len(converted) <= call.settings.bulk_confirm_threshold:
        action = BulkAction(operation=operation, entity_set=summary.entity_set, primary_id=summary.primary_id,
                            atomic=atomic, rows=converted)
        return _done(call, summary.logical_name, operation, await apply_batch(call, summary.logical_name, action))
    sample: list[dict[str, Any]] = []
    if operation == "update":
        before = await before_and_etags(call, metadata, converted)
        for row in converted:
            row.etag = before[row.id or ""]["etag"] if row.id in before else None
        columns = columns_by_name(metadata)
        for row, given in list(zip(converted, rows, strict=True))[:SAMPLE_ROWS]:
            current = shape_row(before.get(row.id or "", {}).get("row", {}), columns)
            after = given.get("values", {})
            sample.append({"id": row.id, "before": {key: current.get(key) for key in after}, "after": after})
    else:
        sample = [{"after": given} for given in rows[:SAMPLE_ROWS]]
    now = state.clock()
    proposal = Proposal(user_oid=call.user, environment=call.environment, table=summary.logical_name,
                        created_at=now, expires_at=now + state.ttl_seconds,
                        action=BulkAction(operation=operation, entity_set=summary.entity_set,
                                          primary_id=summary.primary_id, atomic=atomic, rows=converted))
    token = await state.propose(proposal, call.caller)
    return BulkResult(
        status="proposed", table=summary.logical_name, count=len(converted), sample=sample,
        confirmation_token=token, expires_at=iso_utc(proposal.expires_at),
        next_step=(f"Nothing has changed yet. Show the user that {len(converted)} {summary.logical_name} records "
                   "will change (the sample shows before -> after) and, only if they agree, call confirm_bulk_change "
                   "with the confirmation_token before it expires."),
        link=record_link_template(call, summary.logical_name))


def _done(call: ToolCall, table: str, operation: str, outcomes: list[RowOutcome]) -> BulkResult:
    succeeded = sum(1 for outcome in outcomes if outcome.outcome == "succeeded")
    return BulkResult(status="done", table=table, count=len(outcomes), succeeded=succeeded,
                      failed=len(outcomes) - succeeded, results=outcomes, link=record_link_template(call, table))

