"""The two-step delete: `delete_record` proposes (and changes nothing), `confirm_delete` carries it out.

delete_record reads the record (its ETag, name, owner, dates) and counts the related records that a delete would
cascade to, stores a proposal bound to the caller, environment, table, id and ETag, schedules its expiry, and returns
the impact summary with a single-use confirmation token. confirm_delete checks the token's binding and lifetime
without touching it, then consumes it atomically (so of any number of racing confirmations exactly one goes on),
checks the record is unchanged, and deletes it with If-Match on the proposal's ETag. See proposals.py for the
records and the errors, expiry.py for expiry.

The group is offered only where the policy allows deleting and a shared store holds the proposals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from mcp.server.auth.provider import AccessToken
from pydantic import Field

from dataverse.audit import AuditEvent, AuditEventName, AuditLog, AuditOutcome, describe_failure
from dataverse.tools.delete.expiry import InProcessExpiryScheduler
from dataverse.tools.delete.proposals import (
    CascadeCount,
    DeleteFailedError,
    DeleteProposal,
    ImpactSummary,
    ProposalBook,
    ProposalExpiredError,
    ProposalNotYoursError,
    ProposalUsedError,
    RecordChangedError,
    iso_utc,
    proposal_key,
)
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

logger = logging.getLogger(__name__)

CASCADE_COUNT_CAP = 5000  # Dataverse's own $count ceiling
CASCADE_NOTE = ("The related-record counts cover only the records you can see. Dataverse deletes the related records "
                "its cascade rules name whoever can see them, so it may delete more than counted here.")
MAX_CONCURRENT_COUNTS = 8
Schedule = Callable[[str, float], Awaitable[None]]


@dataclass
class DeleteState:
    """What the delete tools share on one server: the proposal book, the expiry scheduler and the audit log."""

    book: ProposalBook
    schedule_expiry: Schedule
    audit: AuditLog
    clock: Callable[[], float]
    ttl_seconds: int
    in_process_scheduler: InProcessExpiryScheduler | None = None


def setup(runtime: ToolRuntime) -> DeleteState | None:
    """The delete state, or None where proposals have no shared store (then no delete tool is offered).
    Expiry is scheduled with `ToolDeps.schedule_expiry` (Azure: the durable client), else in process."""
    deps = runtime.deps
    if deps.store is None:
        logger.warning("delete tools not registered: ToolDeps.store is not set")
        return None
    scheduler = None
    schedule = deps.schedule_expiry
    if schedule is None:
        scheduler = InProcessExpiryScheduler(deps.store, audit=runtime.audit, clock=deps.clock)
        schedule = scheduler.schedule
    return DeleteState(book=ProposalBook(deps.store), schedule_expiry=schedule, audit=runtime.audit,
                       clock=deps.clock, ttl_seconds=runtime.settings.confirm_token_ttl_seconds,
                       in_process_scheduler=scheduler)


group: ToolGroup[DeleteState] = ToolGroup("delete", setup=setup)


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
    proposal = DeleteProposal(
        user_oid=call.user, environment=call.environment, table=summary.logical_name,
        entity_set=summary.entity_set, primary_id=summary.primary_id, record_id=record_id, etag=etag,
        created_at=now, expires_at=now + state.ttl_seconds, impact=impact,
    )
    token, key = await state.book.create_proposal(proposal, now=now)
    try:
        await state.schedule_expiry(key, proposal.expires_at)
    except Exception:
        logger.warning("could not schedule the expiry of a delete proposal", exc_info=True)
    _emit(state, "proposal_created", "delete_record", "ok", call.caller, proposal)
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
    key = _key_of(confirmation_token)
    found = await state.book.get_proposal(key) if key else None
    if key is None or found is None:
        raise _refused(state, ProposalUsedError(
            "This confirmation token has already been used or was never issued; nothing was deleted now. "
            "To delete a record, call delete_record again and confirm with the new token."), caller, None)
    proposal, etag = found
    if proposal.user_oid != caller.subject:  # checked before consuming: the owner can still confirm
        raise _refused(state, ProposalNotYoursError(
            "This confirmation token was issued to another user and cannot be used by you. Nothing was deleted. "
            "Call delete_record yourself if you want to delete the record."), caller, None)
    if proposal.is_expired(state.clock()):
        raise _refused(state, _expired_error(state.ttl_seconds), caller, proposal)
    taken = await state.book.consume_proposal(key)
    if taken is None:
        raise _refused(state, ProposalUsedError(
            "This confirmation token has already been used; nothing was deleted now."), caller, proposal)
    if taken[1] != etag or taken[0].is_expired(state.clock()):  # expired between our read and the consume
        raise _refused(state, _expired_error(state.ttl_seconds), caller, proposal)
    call = call.in_environment(proposal.environment)
    await _check_unchanged(state, call, proposal)
    try:
        # Sent once, never retried: after a lost answer a retry would meet 404 and misreport a done delete.
        await call.client.delete(proposal.entity_set, proposal.record_id, etag=proposal.etag)
    except webapi_errors.ConcurrencyError as error:
        raise _refused(state, _changed_error(proposal), caller, proposal) from error
    except webapi_errors.DataverseError as error:
        failure = describe_failure(error)
        _emit(state, "delete_failed", "confirm_delete", failure.outcome, caller, proposal, failure.error_code)
        raise DeleteFailedError(
            f"Dataverse did not delete {proposal.table} {proposal.record_id}: {error} The confirmation token is "
            "used up and the delete was not retried. Check with get_record whether the record still exists; to "
            "try again, call delete_record for a new token.") from error
    _emit(state, "proposal_confirmed", "confirm_delete", "ok", caller, proposal)
    impact = proposal.impact
    return ConfirmDeleteResult(
        deleted=True, table=proposal.table, id=proposal.record_id, name=impact.name if impact else None,
        cascaded=([c for c in impact.cascades if c.count] or None) if impact else None,
    )


async def _check_unchanged(state: DeleteState, call: ToolCall, proposal: DeleteProposal) -> None:
    try:
        current = await call.client.retrieve(proposal.entity_set, proposal.record_id, select=[proposal.primary_id])
    except webapi_errors.NotFoundError as error:
        raise _refused(state, RecordChangedError(
            f"{proposal.table} {proposal.record_id} no longer exists (or you can no longer see it); nothing was "
            "deleted. The confirmation token is used up."), call.caller, proposal) from error
    except webapi_errors.DataverseError as error:
        failure = describe_failure(error)
        _emit(state, "delete_failed", "confirm_delete", failure.outcome, call.caller, proposal, failure.error_code)
        raise DeleteFailedError(
            f"Could not check {proposal.table} {proposal.record_id} before deleting it: {error} Nothing was "
            "deleted and the token is used up; call delete_record again for a new one.") from error
    if current.get("@odata.etag") != proposal.etag:
        raise _refused(state, _changed_error(proposal), call.caller, proposal)


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


def _refused(state: DeleteState, error: Exception, caller: AccessToken, proposal: DeleteProposal | None) -> Exception:
    failure = describe_failure(error)
    _emit(state, "proposal_failed", "confirm_delete", failure.outcome, caller, proposal, failure.error_code)
    return error


def _emit(state: DeleteState, event: AuditEventName, tool: str, outcome: AuditOutcome, caller: AccessToken,
          proposal: DeleteProposal | None, error_code: str | None = None) -> None:
    upn = (caller.claims or {}).get("upn")
    try:
        state.audit.emit(AuditEvent(
            event=event, tool=tool, outcome=outcome, user_oid=caller.subject or None,
            upn=upn if isinstance(upn, str) else None, client_id=caller.client_id or None,
            environment=proposal.environment if proposal else None, table=proposal.table if proposal else None,
            record_id=proposal.record_id if proposal else None, error_code=error_code,
        ))
    except ValueError:  # a field that fails the audit patterns must not fail the user's action
        logger.warning("audit event %s could not be built", event, exc_info=True)


def _key_of(token: str) -> str | None:
    cleaned = (token or "").strip()
    return proposal_key(cleaned) if 16 <= len(cleaned) <= 256 else None


def _expired_error(ttl: int) -> ProposalExpiredError:
    return ProposalExpiredError(
        f"This confirmation token has expired (tokens last {ttl} seconds); nothing was deleted. Call delete_record "
        "again, show the user the impact, and confirm promptly with the new token.")


def _changed_error(proposal: DeleteProposal) -> RecordChangedError:
    return RecordChangedError(
        f"{proposal.table} {proposal.record_id} was changed by someone since the delete was proposed, so it was not "
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
