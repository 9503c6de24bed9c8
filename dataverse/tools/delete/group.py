"""The two-step delete: `delete_record` proposes (and changes nothing), `confirm_delete` carries it out.

delete_record reads the record (its ETag, name, owner, dates) and counts the related records that a delete would
cascade to, stores a proposal bound to the caller, environment, table, id and ETag, schedules its expiry, and returns
the impact summary with a single-use confirmation token. confirm_delete checks the token's binding and lifetime
without touching it, then consumes it atomically (so of any number of racing confirmations exactly one goes on),
checks the record is unchanged, and deletes it with If-Match on the proposal's ETag. The token machinery is
tools/confirm/.

The group is offered only where the policy allows deleting and a shared store holds the proposals.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from pydantic import Field

from dataverse.audit import describe_failure
from dataverse.tools.confirm.proposals import (
    CascadeCount,
    DeleteAction,
    DeleteFailedError,
    ImpactSummary,
    Proposal,
    RecordChangedError,
    iso_utc,
)
from dataverse.tools.confirm.setup import confirmation
from dataverse.tools.confirm.take import Confirmation
from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.errors import DataverseRefusedError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import RecordId, TableName
from dataverse.tools.kit.registry import DESTRUCTIVE, WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table, list_tables
from dataverse.tools.schema.selection import columns_by_name, resolve_selection
from dataverse.tools.values.shaping import shape_row
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.models import OneToManyRelationship, TableMetadata

CASCADE_COUNT_CAP = 5000  # Dataverse's own $count ceiling
CASCADE_NOTE = ("The related-record counts cover only the records you can see. Dataverse deletes the related records "
                "its cascade rules name whoever can see them, so it may delete more than counted here.")
MAX_CONCURRENT_COUNTS = 8


def setup(runtime: ToolRuntime) -> Confirmation | None:
    """The delete confirmation, or None where proposals have no shared store (then no delete tool is offered)."""
    return confirmation(runtime, propose_tool="delete_record", confirm_tool="confirm_delete")


group: ToolGroup[Confirmation] = ToolGroup("delete", setup=setup)


class DeleteProposalResult(ResultModel):
    deleted: bool = Field(False, description="Always false: nothing has been deleted yet.")
    confirmation_token: str = Field(description="Pass to confirm_delete, once, after the user agrees.")
    expires_at: str = Field(description="When the token stops working (UTC).")
    expires_in_seconds: int
    impact: ImpactSummary
    cascade_note: str | None = Field(None, description="What the related-record counts cannot show.")
    next_step: str


class ConfirmDeleteResult(ResultModel):
    deleted: bool
    table: str
    id: str
    name: str | None = None
    cascaded: list[CascadeCount] | None = Field(None, description="Related records deleted with it, as proposed.")


@group.tool(title="Propose deleting a record", annotations=WRITE, requires="delete", description=(
    "Step 1 of 2 of a delete: what would go (the record, cascading related records) and a single-use "
    "confirmation token. Deletes nothing."))
async def delete_record(call: ToolCall, table: TableName, id: RecordId) -> DeleteProposalResult:
    state = group.state(call)
    record_id = record_id_argument(id)
    metadata = await describe_named_table(call, table)
    summary = metadata.table
    selection = resolve_selection(metadata, [c for c in (summary.primary_name, "ownerid", "createdon", "modifiedon")
                                             if c and _has_column(metadata, c)])
    with dataverse_errors(table=summary.logical_name, record_id=record_id):
        raw = await call.client.retrieve(summary.entity_set, record_id, select=selection.wire)
    etag = raw.get("@odata.etag")
    if not isinstance(etag, str) or not etag:
        raise DataverseRefusedError("Dataverse returned the record without a version (ETag); it cannot be deleted "
                                    "safely through this connector.")
    shaped = shape_row(raw, columns_by_name(metadata))
    impact = ImpactSummary(
        table=summary.logical_name, id=record_id,
        name=_text(shaped.get(summary.primary_name or "")), owner=_lookup_name(shaped.get("ownerid")),
        created_on=_text(shaped.get("createdon")), modified_on=_text(shaped.get("modifiedon")),
        cascades=await _count_cascades(call, metadata, record_id),
    )
    now = state.clock()
    proposal = Proposal(
        user_oid=call.user, environment=call.environment, table=summary.logical_name, created_at=now,
        expires_at=now + state.ttl_seconds,
        action=DeleteAction(entity_set=summary.entity_set, primary_id=summary.primary_id, record_id=record_id,
                            etag=etag, impact=impact),
    )
    token = await state.propose(proposal, call.caller)
    return DeleteProposalResult(
        confirmation_token=token, expires_at=iso_utc(proposal.expires_at),
        expires_in_seconds=state.ttl_seconds, impact=impact,
        cascade_note=CASCADE_NOTE if impact.cascades else None,
        next_step="Nothing has been deleted. Show the user this impact summary and ask them to confirm; only if "
                  "they agree, call confirm_delete with the confirmation_token before it expires.",
    )


@group.tool(title="Confirm a delete", annotations=DESTRUCTIVE, requires="delete", per_environment=False,
            description="Step 2 of 2: permanently deletes what a delete_record proposal described.")
async def confirm_delete(
    call: ToolCall,
    confirmation_token: Annotated[str, Field(description="From delete_record; works once.")],
) -> ConfirmDeleteResult:
    state = group.state(call)
    caller = call.caller
    proposal, action = await state.take(confirmation_token, caller, DeleteAction)
    call = call.in_environment(proposal.environment)
    await _check_unchanged(state, call, proposal, action)
    try:
        # Sent once, never retried: after a lost answer a retry would meet 404 and misreport a done delete.
        await call.client.delete(action.entity_set, action.record_id, etag=action.etag)
    except webapi_errors.ConcurrencyError as error:
        raise state.refused(_changed_error(proposal.table, action), caller, proposal) from error
    except webapi_errors.DataverseError as error:
        failure = describe_failure(error)
        state.emit("delete_failed", "confirm_delete", failure.outcome, caller, proposal, failure.error_code)
        raise DeleteFailedError(
            f"Dataverse did not delete {proposal.table} {action.record_id}: {error} The confirmation token is "
            "used up and the delete was not retried. Check with get_record whether the record still exists; to "
            "try again, call delete_record for a new token.") from error
    state.emit("proposal_confirmed", "confirm_delete", "ok", caller, proposal)
    impact = action.impact
    return ConfirmDeleteResult(deleted=True, table=proposal.table, id=action.record_id, name=impact.name,
                               cascaded=[c for c in impact.cascades if c.count] or None)


async def _check_unchanged(state: Confirmation, call: ToolCall, proposal: Proposal, action: DeleteAction) -> None:
    try:
        current = await call.client.retrieve(action.entity_set, action.record_id, select=[action.primary_id])
    except webapi_errors.NotFoundError as error:
        raise state.refused(RecordChangedError(
            f"{proposal.table} {action.record_id} no longer exists (or you can no longer see it); nothing was "
            "deleted. The confirmation token is used up."), call.caller, proposal) from error
    except webapi_errors.DataverseError as error:
        failure = describe_failure(error)
        state.emit("delete_failed", "confirm_delete", failure.outcome, call.caller, proposal, failure.error_code)
        raise DeleteFailedError(
            f"Could not check {proposal.table} {action.record_id} before deleting it: {error} Nothing was "
            "deleted and the token is used up; call delete_record again for a new one.") from error
    if current.get("@odata.etag") != action.etag:
        raise state.refused(_changed_error(proposal.table, action), call.caller, proposal)


async def _count_cascades(call: ToolCall, metadata: TableMetadata, record_id: str) -> list[CascadeCount]:
    relationships = [r for r in metadata.one_to_many
                     if r.cascade_delete == "Cascade" and r.referencing_entity != "activitypointer"]
    if not relationships:
        return []
    tables = {t.logical_name: t for t in await list_tables(call)}
    limit = asyncio.Semaphore(MAX_CONCURRENT_COUNTS)

    async def count(relationship: OneToManyRelationship) -> CascadeCount | None:
        related = tables.get(relationship.referencing_entity)
        if related is None:
            return None
        async with limit:
            with dataverse_errors(table=related.logical_name):
                page = await call.client.query(
                    related.entity_set, select=[related.primary_id], count=True, page_size=1, annotations=False,
                    filter=f"_{relationship.referencing_attribute}_value eq {record_id}",
                )
        number = page.count if page.count is not None else len(page.rows)
        capped = number >= CASCADE_COUNT_CAP
        return CascadeCount(table=related.logical_name, relationship=relationship.schema_name,
                            count=min(number, CASCADE_COUNT_CAP), capped=True if capped else None)

    counted = await asyncio.gather(*(count(r) for r in relationships))
    return [item for item in counted if item is not None]


def _changed_error(table: str, action: DeleteAction) -> RecordChangedError:
    return RecordChangedError(
        f"{table} {action.record_id} was changed by someone since the delete was proposed, so it was not "
        "deleted. The confirmation token is used up: call delete_record again to see the current record and get a "
        "new token.")


def _has_column(metadata: TableMetadata, name: str) -> bool:
    return any(column.logical_name == name for column in metadata.columns)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _lookup_name(value: object) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("name")) or _text(value.get("id"))
    return None
