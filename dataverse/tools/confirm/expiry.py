"""Expiry of proposals (a delete, a bulk change) that nobody confirmed.

Creating a proposal calls `ExpiryScheduler.schedule(key, expires_at)`. In Azure the scheduler starts the Durable
Functions orchestration `expire_delete_proposal_orchestrator` (a timer until `expires_at`, then the activity
`expire_delete_proposal`); under uvicorn or in tests `InProcessExpiryScheduler` does the same with asyncio tasks.
Either way the activity body is `expire_proposal(store, payload)`: if the proposal is still pending and past
its time it is replaced by a tombstone (so a late confirmation reads "expired") and a "proposal_expired" audit event is
written. The timer is cleanup only: a confirmation checks `expires_at` itself. Expired rows (proposals, tombstones)
are removed for good by the sweeper, `dataverse.storage.sweep`.

This module imports no Azure package; function_app.py registers the orchestrator and activity with them (through the
`dataverse.jobs` facade).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Generator
from datetime import UTC, datetime
from typing import Any, Protocol

from dataverse.audit import AuditEvent, AuditLog
from dataverse.storage.errors import ConcurrencyError
from dataverse.storage.protocol import Store
from dataverse.tools.confirm.proposals import BulkAction, ProposalBook

logger = logging.getLogger(__name__)

# The durable functions' names, kept from when only deletes took two steps (renaming them would orphan running
# orchestrations after a deployment).
ORCHESTRATOR_NAME = "expire_delete_proposal_orchestrator"
ACTIVITY_NAME = "expire_delete_proposal"


class ExpiryScheduler(Protocol):
    """Arranges for `expire_proposal` to run for `proposal_key` once `expires_at` (epoch seconds) has passed."""

    async def schedule(self, proposal_key: str, expires_at: float) -> None: ...


def expiry_input(proposal_key: str, expires_at: float) -> dict[str, Any]:
    """The orchestration's (and the activity's) input: JSON-serialisable, no secrets (the key is a hash)."""
    return {"proposal_key": proposal_key, "expires_at": float(expires_at)}


# --- the activity ----------------------------------------------------------------------------------------------------


async def expire_proposal(
    store: Store,
    payload: dict[str, Any],
    *,
    audit: AuditLog | None = None,
    now: float | None = None,
) -> bool:
    """Tombstone the proposal if it is still pending and its time is up; True when it did.

    Safe to run more than once and to race with a confirmation: the write is ETag-conditional, so a proposal that was
    confirmed (consumed) meanwhile is left alone, and an already expired one is not expired again.
    """
    key = str(payload["proposal_key"])
    instant = time.time() if now is None else now
    book = ProposalBook(store)
    found = await book.get_proposal(key)
    if found is None:
        return False  # confirmed, or already purged
    proposal, etag = found
    if proposal.status != "pending" or instant < proposal.expires_at:
        return False
    try:
        await book.replace_with_tombstone(key, proposal, etag=etag, now=instant)
    except ConcurrencyError:
        return False  # a confirmation (or another expiry run) got there first: it changed or consumed the row
    action = proposal.action
    tool = f"bulk_{action.operation}_records" if isinstance(action, BulkAction) else "delete_record"
    (audit or AuditLog()).emit(AuditEvent(
        event="proposal_expired", tool=tool, outcome="expired", user_oid=proposal.user_oid,
        environment=proposal.environment, table=proposal.table, record_id=proposal.record_id,
    ))
    return True


# --- the durable orchestration ---------------------------------------------------------------------------------------


def expire_proposal_orchestrator(context: Any) -> Generator[Any, Any, Any]:
    """Durable Functions orchestrator: wait until the proposal's expiry, then run the expiry activity.

    Deterministic as replay requires: the deadline comes from the input, never from the clock.
    """
    payload = context.get_input()
    deadline = datetime.fromtimestamp(float(payload["expires_at"]), UTC)
    yield context.create_timer(deadline)
    expired = yield context.call_activity(ACTIVITY_NAME, payload)
    return expired


# --- in-process scheduling (uvicorn, sandbox, tests) ------------------------------------------------------------------


class InProcessExpiryScheduler:
    """An asyncio task per proposal that sleeps until its expiry and then runs the activity.

    Tasks live in this process only (fine for one uvicorn process; a restart just leaves the work to the sweeper).
    `aclose()` cancels the pending ones; call it on shutdown.
    """

    def __init__(
        self,
        store: Store,
        *,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._sleep = sleep
        self._tasks: set[asyncio.Task[bool]] = set()

    @property
    def pending(self) -> int:
        """How many expiry tasks have not finished yet."""
        return sum(1 for task in self._tasks if not task.done())

    async def schedule(self, proposal_key: str, expires_at: float) -> None:
        task = asyncio.create_task(
            self._expire_later(proposal_key, expires_at), name=f"expire-proposal-{proposal_key[:8]}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire_later(self, proposal_key: str, expires_at: float) -> bool:
        delay = expires_at - self._clock()
        if delay > 0:
            await self._sleep(delay)
        try:
            return await expire_proposal(
                self._store, expiry_input(proposal_key, expires_at), audit=self._audit, now=self._clock()
            )
        except Exception:  # a failed cleanup must not crash the server; the sweeper removes the row later
            logger.exception("expiring a proposal failed")
            return False

    async def wait_idle(self) -> None:
        """Wait for every scheduled expiry to finish (tests; graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
