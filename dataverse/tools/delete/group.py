"""The two-step delete: `delete_record` proposes (and changes nothing), `confirm_delete` carries it out.

delete_record reads the record (its ETag, name, owner, dates) and counts the related records that a delete would
cascade to, stores a proposal bound to the caller, environment, table, id and ETag, schedules its expiry, and returns
the impact summary with a single-use confirmation token. confirm_delete checks the token's binding and lifetime
without touching it, then consumes it atomically (so of any number of racing confirmations exactly one goes on),
checks the record is unchanged, and deletes it with If-Match on the proposal's ETag. See proposals.py for the
records and the errors, expiry.py for expiry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from dataverse.audit import AuditEvent, AuditEventName, AuditLog, AuditOutcome, describe_failure
from dataverse.tools.context import ToolCall, ToolRuntime, get_caller
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
from dataverse.tools.errors import DataverseRefusedError, dataverse_errors, record_id_argument
from dataverse.tools.registration import without_parameter
from dataverse.tools.results import ResultModel, tool_result
from dataverse.tools.shaping import shape_row
from dataverse.tools.tables import columns_by_name, get_table, resolve_selection, resolve_table
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.models import OneToManyRelationship, TableMetadata, TableSummary
from dataverse.webapi.odata import record_path

logger = logging.getLogger(__name__)

CASCADE_COUNT_CAP = 5000  # Dataverse's own $count ceiling
MAX_CONCURRENT_COUNTS = 8
Schedule = Callable[[str, float], Awaitable[None]]


class DeleteProposalResult(ResultModel):
    deleted: bool = Field(False, description="Always false: nothing has been deleted yet.")
    confirmation_token: str = Field(description="Pass to confirm_delete, once, after the user agrees.")
    expires_at: str = Field(description="When the token stops working (UTC).")
    expires_in_seconds: int
    impact: ImpactSummary
    next_step: str


class ConfirmDeleteResult(ResultModel):
    deleted: bool
    table: str
    id: str
    name: str | None = None
    cascaded: list[CascadeCount] | None = Field(None, description="Related records deleted with it, as proposed.")


class DeleteTools:
    """delete_record and confirm_delete bound to one ToolRuntime; `register_delete_tools` adds them to a server."""

    def __init__(self, runtime: ToolRuntime, *, schedule_expiry: Schedule, audit: AuditLog | None = None) -> None:
        if runtime.deps.store is None:
            raise ValueError("the delete tools need ToolDeps.store (proposals live in shared storage)")
        self.runtime = runtime
        self.book = ProposalBook(runtime.deps.store)
        self.schedule_expiry = schedule_expiry
        self.audit = audit or AuditLog()
        self.clock = runtime.deps.clock
        self.in_process_scheduler: InProcessExpiryScheduler | None = None

    async def delete_record(
        self,
        table: Annotated[str, Field(description="Table logical name, e.g. 'account'.")],
        id: Annotated[str, Field(description="The record's id (a GUID).")],
        environment: Annotated[str | None, Field(description="Dataverse environment URL; omit for the default.")]
        = None,
    ) -> Annotated[CallToolResult, DeleteProposalResult]:
        call = self.runtime.begin_call(environment)
        record_id = record_id_argument(id)
        summary = await resolve_table(self.runtime, call, table)
        metadata = await get_table(self.runtime, call, summary)
        selection = resolve_selection(metadata, [c for c in (summary.primary_name, "ownerid", "createdon",
                                                              "modifiedon") if c and _has_column(metadata, c)])
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
            cascades=await self._count_cascades(call, metadata, record_id),
        )
        now = self.clock()
        proposal = DeleteProposal(
            user_oid=call.user, environment=call.environment, table=summary.logical_name,
            entity_set=summary.entity_set, primary_id=summary.primary_id, record_id=record_id, etag=etag,
            created_at=now,
            expires_at=now + self.runtime.settings.confirm_token_ttl_seconds, impact=impact,
        )
        token, key = await self.book.create_proposal(proposal, now=now)
        try:
            await self.schedule_expiry(key, proposal.expires_at)
        except Exception:
            logger.warning("could not schedule the expiry of a delete proposal", exc_info=True)
        self._emit("proposal_created", "delete_record", "ok", call.caller, proposal)
        return tool_result(DeleteProposalResult(
            confirmation_token=token, expires_at=iso_utc(proposal.expires_at),
            expires_in_seconds=self.runtime.settings.confirm_token_ttl_seconds, impact=impact,
            next_step="Nothing has been deleted. Show the user this impact summary and ask them to confirm; only if "
                      "they agree, call confirm_delete with the confirmation_token before it expires.",
        ))

    async def confirm_delete(
        self,
        confirmation_token: Annotated[str, Field(description="The token delete_record returned. Single use.")],
    ) -> Annotated[CallToolResult, ConfirmDeleteResult]:
        caller = get_caller()
        key = _key_of(confirmation_token)
        found = await self.book.get_proposal(key) if key else None
        if found is None:
            raise self._refused(ProposalUsedError(
                "This confirmation token has already been used or was never issued; nothing was deleted now. "
                "To delete a record, call delete_record again and confirm with the new token."), caller, None)
        proposal, etag = found
        if proposal.user_oid != caller.subject:  # checked before consuming: the owner can still confirm
            raise self._refused(ProposalNotYoursError(
                "This confirmation token was issued to another user and cannot be used by you. Nothing was deleted. "
                "Call delete_record yourself if you want to delete the record."), caller, None)
        if proposal.is_expired(self.clock()):
            raise self._refused(_expired_error(self.runtime.settings.confirm_token_ttl_seconds), caller, proposal)
        taken = await self.book.consume_proposal(key)
        if taken is None:
            raise self._refused(ProposalUsedError(
                "This confirmation token has already been used; nothing was deleted now."), caller, proposal)
        if taken[1] != etag or taken[0].is_expired(self.clock()):  # expired between our read and the consume
            raise self._refused(_expired_error(self.runtime.settings.confirm_token_ttl_seconds), caller, proposal)
        call = self.runtime.begin_call(proposal.environment)
        await self._check_unchanged(call, proposal, caller)
        try:
            # Sent once, never retried: after a lost answer a retry would meet 404 and misreport a done delete.
            await call.client.request_json("DELETE", record_path(proposal.entity_set, proposal.record_id),
                                           headers={"If-Match": proposal.etag}, idempotent=False)
        except webapi_errors.ConcurrencyError as error:
            raise self._refused(_changed_error(proposal), caller, proposal) from error
        except webapi_errors.DataverseError as error:
            failure = describe_failure(error)
            self._emit("delete_failed", "confirm_delete", failure.outcome, caller, proposal, failure.error_code)
            reason = str(error)
            raise DeleteFailedError(
                f"Dataverse did not delete {proposal.table} {proposal.record_id}: {reason} The confirmation token is "
                "used up and the delete was not retried. Check with get_record whether the record still exists; to "
                "try again, call delete_record for a new token.") from error
        self._emit("proposal_confirmed", "confirm_delete", "ok", caller, proposal)
        impact = proposal.impact
        return tool_result(ConfirmDeleteResult(
            deleted=True, table=proposal.table, id=proposal.record_id, name=impact.name if impact else None,
            cascaded=([c for c in impact.cascades if c.count] or None) if impact else None,
        ))

    # --- helpers ---------------------------------------------------------------------------------------------------
    async def _check_unchanged(self, call: ToolCall, proposal: DeleteProposal, caller: AccessToken) -> None:
        try:
            current = await call.client.retrieve(proposal.entity_set, proposal.record_id, select=[proposal.primary_id])
        except webapi_errors.NotFoundError as error:
            raise self._refused(RecordChangedError(
                f"{proposal.table} {proposal.record_id} no longer exists (or you can no longer see it); nothing was "
                "deleted. The confirmation token is used up."), caller, proposal) from error
        except webapi_errors.DataverseError as error:
            failure = describe_failure(error)
            self._emit("delete_failed", "confirm_delete", failure.outcome, caller, proposal, failure.error_code)
            raise DeleteFailedError(
                f"Could not check {proposal.table} {proposal.record_id} before deleting it: {error} Nothing was "
                "deleted and the token is used up; call delete_record again for a new one.") from error
        if current.get("@odata.etag") != proposal.etag:
            raise self._refused(_changed_error(proposal), caller, proposal)

    async def _count_cascades(self, call: ToolCall, metadata: TableMetadata, record_id: str) -> list[CascadeCount]:
        relationships = [r for r in metadata.one_to_many
                         if r.cascade_delete == "Cascade" and r.referencing_entity != "activitypointer"]
        if not relationships:
            return []

        async def create() -> list[TableSummary]:
            with dataverse_errors():
                return await call.client.list_tables()

        tables = {t.logical_name: t for t in await self.runtime.metadata.list_tables(call.environment, create)}
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

    def _refused(self, error: Exception, caller: AccessToken, proposal: DeleteProposal | None) -> Exception:
        failure = describe_failure(error)
        self._emit("proposal_failed", "confirm_delete", failure.outcome, caller, proposal, failure.error_code)
        return error

    def _emit(self, event: AuditEventName, tool: str, outcome: AuditOutcome, caller: AccessToken,
              proposal: DeleteProposal | None, error_code: str | None = None) -> None:
        upn = (caller.claims or {}).get("upn")
        try:
            self.audit.emit(AuditEvent(
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


def register_delete_tools(server: MCPServer, runtime: ToolRuntime, *, schedule_expiry: Schedule | None = None,
                          audit: AuditLog | None = None) -> DeleteTools | None:
    """Add delete_record and confirm_delete to `server` unless policy forbids deleting (read_only, allow_delete
    False) or there is no shared store (ToolDeps.store): then nothing is registered and None is returned.

    Expiry is scheduled with `schedule_expiry`, else `ToolDeps.schedule_expiry` (Azure: the durable client), else an
    in-process scheduler, reachable as `tools.in_process_scheduler` so the app can `aclose()` it on shutdown."""
    settings = runtime.settings
    if settings.access_mode == "read_only" or not settings.allow_delete:
        return None
    if runtime.deps.store is None:  # proposals must live in shared storage; without it there is no safe delete
        logger.warning("delete tools not registered: ToolDeps.store is not set")
        return None
    scheduler: InProcessExpiryScheduler | None = None
    schedule_expiry = schedule_expiry or runtime.deps.schedule_expiry
    if schedule_expiry is None:
        scheduler = InProcessExpiryScheduler(runtime.deps.store, audit=audit, clock=runtime.deps.clock)
        schedule_expiry = scheduler.schedule
    tools = DeleteTools(runtime, schedule_expiry=schedule_expiry, audit=audit)
    tools.in_process_scheduler = scheduler
    multi_environment = len(runtime.environments) > 1
    delete_fn = tools.delete_record
    if not multi_environment:

        delete_fn = without_parameter(delete_fn, "environment")
    server.add_tool(
        delete_fn, name="delete_record", title="Propose deleting a record",
        description=("Step 1 of 2 to delete one record: returns what would be deleted (name, owner, related records "
                     "that cascade) and a confirmation token. Deletes nothing. Show the summary to the user and ask."),
        annotations=ToolAnnotations(title="Propose deleting a record", readOnlyHint=False, destructiveHint=False,
                                    idempotentHint=False, openWorldHint=False),
        structured_output=True,
    )
    server.add_tool(
        tools.confirm_delete, name="confirm_delete", title="Confirm a delete",
        description=("Step 2 of 2: permanently deletes the record a delete_record proposal described (and the related "
                     "records that cascade). Call only after the user explicitly agreed. The token works once."),
        annotations=ToolAnnotations(title="Confirm a delete", readOnlyHint=False, destructiveHint=True,
                                    idempotentHint=False, openWorldHint=False),
        structured_output=True,
    )
    return tools
