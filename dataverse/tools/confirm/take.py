"""Taking a proposal at confirmation, the same way for every kind of change: the token must have been issued, to
this caller, for this kind of change, and not have expired; then it is consumed atomically, so that of any number of
racing confirmations exactly one goes on. Every refusal is audited and says what to do next."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mcp.server.auth.provider import AccessToken

from dataverse.audit import AuditEvent, AuditEventName, AuditLog, AuditOutcome, describe_failure
from dataverse.tools.confirm.proposals import (
    BulkAction,
    DeleteAction,
    Proposal,
    ProposalBook,
    ProposalExpiredError,
    ProposalNotYoursError,
    ProposalUsedError,
    proposal_key,
)

logger = logging.getLogger(__name__)

ActionT = TypeVar("ActionT", DeleteAction, BulkAction)


@dataclass(frozen=True)
class Confirmation:
    """One kind of two-step change: the tools that propose and confirm it, and the shared machinery."""

    propose_tool: str
    confirm_tool: str
    book: ProposalBook
    audit: AuditLog
    clock: Callable[[], float]
    ttl_seconds: int
    schedule_expiry: Callable[[str, float], Awaitable[None]]

    async def propose(self, proposal: Proposal, caller: AccessToken) -> str:
        """Store the proposal, schedule its expiry and audit it; returns the single-use token."""
        token, key = await self.book.create_proposal(proposal, now=proposal.created_at)
        try:
            await self.schedule_expiry(key, proposal.expires_at)
        except Exception:
            logger.warning("could not schedule the expiry of a proposal", exc_info=True)
        self.emit("proposal_created", self.propose_tool, "ok", caller, proposal)
        return token

    async def take(self, token: str, caller: AccessToken, kind: type[ActionT]) -> tuple[Proposal, ActionT]:
        """The proposal and its action, consumed; a ProposalError (audited) when the token cannot be used."""
        key = _key_of(token)
        found = await self.book.get_proposal(key) if key else None
        if key is None or found is None:
            raise self.refused(ProposalUsedError(
                "This confirmation token has already been used or was never issued; nothing was changed now. "
                f"Call {self.propose_tool} again and confirm with the new token."), caller, None)
        proposal, etag = found
        if proposal.user_oid != caller.subject:  # checked before consuming: the owner can still confirm
            raise self.refused(ProposalNotYoursError(
                "This confirmation token was issued to another user and cannot be used by you. Nothing was changed. "
                f"Call {self.propose_tool} yourself if you want to make this change."), caller, None)
        if proposal.is_expired(self.clock()):
            raise self.refused(self.expired_error(), caller, proposal)
        if not isinstance(proposal.action, kind):
            raise self.refused(ProposalUsedError(
                f"This confirmation token is for another kind of change, not one {self.confirm_tool} makes; nothing "
                "was changed. Pass it to the confirm tool its proposal named."), caller, proposal)
        taken = await self.book.consume_proposal(key)
        if taken is None:
            raise self.refused(ProposalUsedError(
                "This confirmation token has already been used; nothing was changed now."), caller, proposal)
        if taken.etag != etag or taken.item.is_expired(self.clock()):  # expired between our read and the consume
            raise self.refused(self.expired_error(), caller, proposal)
        action = taken.item.action
        if not isinstance(action, kind):  # the row changed kind between read and consume: cannot happen, never act
            raise self.refused(ProposalUsedError("This confirmation token no longer holds a change."), caller, None)
        return taken.item, action

    def expired_error(self) -> ProposalExpiredError:
        return ProposalExpiredError(
            f"This confirmation token has expired (tokens last {self.ttl_seconds} seconds); nothing was changed. "
            f"Call {self.propose_tool} again, show the user what it would do, and confirm promptly with the new "
            "token.")

    def refused(self, error: Exception, caller: AccessToken, proposal: Proposal | None) -> Exception:
        failure = describe_failure(error)
        self.emit("proposal_failed", self.confirm_tool, failure.outcome, caller, proposal, failure.error_code)
        return error

    def emit(self, event: AuditEventName, tool: str, outcome: AuditOutcome, caller: AccessToken,
             proposal: Proposal | None, error_code: str | None = None) -> None:
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
