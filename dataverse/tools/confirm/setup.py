"""What every two-step group needs on one server, made once and shared: the proposal book over the shared store and
the way expiry is scheduled (ToolDeps.schedule_expiry, a durable timer in Azure; else asyncio tasks in this
process)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dataverse.tools.confirm.expiry import InProcessExpiryScheduler
from dataverse.tools.confirm.proposals import ProposalBook
from dataverse.tools.confirm.take import Confirmation
from dataverse.tools.kit.context import ToolRuntime

logger = logging.getLogger(__name__)

Schedule = Callable[[str, float], Awaitable[None]]
_SHARED = "confirm"  # the runtime.group_states entry holding the shared parts


@dataclass
class ConfirmationParts:
    book: ProposalBook
    schedule_expiry: Schedule


def confirmation(runtime: ToolRuntime, *, propose_tool: str, confirm_tool: str) -> Confirmation | None:
    """The Confirmation for one kind of change, or None where proposals have no shared store (then the group that
    asks offers no tool)."""
    parts = shared_parts(runtime)
    if parts is None:
        return None
    return Confirmation(propose_tool=propose_tool, confirm_tool=confirm_tool, book=parts.book, audit=runtime.audit,
                        clock=runtime.deps.clock, ttl_seconds=runtime.settings.confirm_token_ttl_seconds,
                        schedule_expiry=parts.schedule_expiry)


def shared_parts(runtime: ToolRuntime) -> ConfirmationParts | None:
    parts = runtime.group_states.get(_SHARED)
    if isinstance(parts, ConfirmationParts):
        return parts
    deps = runtime.deps
    if deps.store is None:
        logger.warning("two-step tools not registered: ToolDeps.store is not set")
        return None
    schedule = deps.schedule_expiry
    if schedule is None:  # no durable timer (tests, `make run`): expire proposals from this process
        schedule = InProcessExpiryScheduler(deps.store, audit=runtime.audit, clock=deps.clock).schedule
    parts = ConfirmationParts(book=ProposalBook(deps.store, clock=deps.clock), schedule_expiry=schedule)
    runtime.group_states[_SHARED] = parts
    return parts
