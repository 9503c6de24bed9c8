"""Expiry of proposals: the durable orchestrator waits for the proposal's own deadline and then runs the
activity; the activity tombstones a pending, overdue proposal once (and writes the audit event), and leaves confirmed
or not-yet-due ones alone; the in-process scheduler does the same with asyncio tasks. (The sweeper that purges expired
rows is storage's: tests/storage/test_sweep.py.)"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dataverse.audit import AuditLog
from dataverse.storage import MemoryStore
from dataverse.tools.confirm.expiry import (
    ACTIVITY_NAME,
    InProcessExpiryScheduler,
    expire_proposal,
    expire_proposal_orchestrator,
    expiry_input,
)
from dataverse.tools.confirm.proposals import TOMBSTONE_SECONDS, DeleteAction, ImpactSummary, Proposal, ProposalBook

RECORD_ID = "a6a3a450-6513-470e-a69e-0d37f2a74de4"
START = 1_780_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeDurableContext:
    """What the orchestrator uses of DurableOrchestrationContext: the input, and task builders recorded as tuples."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self._payload = payload

    def get_input(self) -> dict[str, Any]:
        return self._payload

    def create_timer(self, fire_at: datetime) -> tuple[str, datetime]:
        return ("timer", fire_at)

    def call_activity(self, name: str, payload: Any) -> tuple[str, str, Any]:
        return ("activity", name, payload)


def make_proposal(now: float, *, ttl: float = 120) -> Proposal:
    return Proposal(
        user_oid="0a1b2c3d-0000-4000-8000-000000000001", environment="https://contoso.crm.dynamics.com",
        table="account", created_at=now, expires_at=now + ttl,
        action=DeleteAction(entity_set="accounts", primary_id="accountid", record_id=RECORD_ID, etag='W/"7"',
                            impact=ImpactSummary(table="account", id=RECORD_ID, name="Contoso")),
    )


def audit_lines() -> tuple[AuditLog, list[dict[str, Any]]]:
    lines: list[dict[str, Any]] = []
    return AuditLog(sink=lambda line: lines.append(json.loads(line))), lines


async def stored_proposal(store: MemoryStore, clock: FakeClock, *, ttl: float = 120) -> tuple[str, Proposal]:
    proposal = make_proposal(clock.now, ttl=ttl)
    _, key = await ProposalBook(store).create_proposal(proposal, now=clock.now)
    return key, proposal


# --- the orchestrator ------------------------------------------------------------------------------------------------


def test_orchestrator_waits_until_the_proposals_deadline_then_runs_the_activity() -> None:
    payload = expiry_input("k" * 64, START + 120)
    steps = expire_proposal_orchestrator(FakeDurableContext(payload))
    assert next(steps) == ("timer", datetime.fromtimestamp(START + 120, UTC))
    assert steps.send(None) == ("activity", ACTIVITY_NAME, payload)
    with pytest.raises(StopIteration) as finished:
        steps.send(True)
    assert finished.value.value is True


def test_orchestrator_replays_to_the_same_deadline_whatever_the_time() -> None:
    payload = expiry_input("k" * 64, START + 5)
    first = next(expire_proposal_orchestrator(FakeDurableContext(payload)))
    again = next(expire_proposal_orchestrator(FakeDurableContext(json.loads(json.dumps(payload)))))
    assert first == again and first[1].tzinfo is not None


# --- the activity ----------------------------------------------------------------------------------------------------


async def test_activity_tombstones_an_overdue_proposal_and_audits_it_once() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    key, proposal = await stored_proposal(store, clock)
    audit, lines = audit_lines()
    clock.now += 120
    assert await expire_proposal(store, expiry_input(key, proposal.expires_at), audit=audit, now=clock.now)
    found = await ProposalBook(store).get_proposal(key)
    assert found is not None and found[0].status == "expired" and found[0].action is None
    assert [(line["event"], line["outcome"], line["record_id"], line["table"]) for line in lines] == [
        ("proposal_expired", "expired", RECORD_ID, "account")]
    assert not await expire_proposal(store, expiry_input(key, proposal.expires_at), audit=audit, now=clock.now)
    assert len(lines) == 1
    clock.now += TOMBSTONE_SECONDS
    assert await ProposalBook(store).get_proposal(key) is None


async def test_activity_leaves_a_proposal_that_is_not_due_yet() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    key, proposal = await stored_proposal(store, clock)
    audit, lines = audit_lines()
    assert not await expire_proposal(store, expiry_input(key, proposal.expires_at), audit=audit,
                                            now=clock.now + 119)
    found = await ProposalBook(store).get_proposal(key)
    assert found is not None and found[0] == proposal and lines == []


async def test_activity_does_nothing_to_a_confirmed_proposal() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    key, proposal = await stored_proposal(store, clock)
    assert await ProposalBook(store).consume_proposal(key) is not None
    audit, lines = audit_lines()
    assert not await expire_proposal(store, expiry_input(key, proposal.expires_at), audit=audit,
                                            now=clock.now + 500)
    assert await ProposalBook(store).get_proposal(key) is None and lines == []


async def test_activity_racing_a_confirmation_never_both_win() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    book = ProposalBook(store)
    outcomes = []
    for _ in range(20):
        key, proposal = await stored_proposal(store, clock, ttl=0)
        expired, taken = await asyncio.gather(
            expire_proposal(store, expiry_input(key, proposal.expires_at), now=clock.now),
            book.consume_proposal(key),
        )
        took_pending = taken is not None and taken[0].status == "pending"
        assert not (expired and took_pending)
        outcomes.append((expired, took_pending))
    assert all(expired or took for expired, took in outcomes)


# --- the in-process scheduler ----------------------------------------------------------------------------------------


async def test_in_process_scheduler_expires_the_proposal_when_its_time_comes() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    audit, lines = audit_lines()
    scheduler = InProcessExpiryScheduler(store, audit=audit, clock=clock, sleep=sleep)
    key, proposal = await stored_proposal(store, clock, ttl=120)
    await scheduler.schedule(key, proposal.expires_at)
    await scheduler.wait_idle()
    assert slept == [120]
    found = await ProposalBook(store).get_proposal(key)
    assert found is not None and found[0].status == "expired"
    assert [line["event"] for line in lines] == ["proposal_expired"]
    assert scheduler.pending == 0


async def test_closing_the_scheduler_cancels_pending_expiries() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    scheduler = InProcessExpiryScheduler(store, clock=clock)  # real asyncio.sleep: 120 s, so it is still waiting
    key, proposal = await stored_proposal(store, clock, ttl=120)
    await scheduler.schedule(key, proposal.expires_at)
    await asyncio.sleep(0)
    assert scheduler.pending == 1
    await scheduler.aclose()
    assert scheduler.pending == 0
    found = await ProposalBook(store).get_proposal(key)
    assert found is not None and found[0].status == "pending"


async def test_a_failing_expiry_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()

    class BrokenStore(MemoryStore):
        def collection(self, name: str) -> Any:
            raise RuntimeError("storage is down")

    scheduler = InProcessExpiryScheduler(BrokenStore(clock=clock), clock=clock)
    await scheduler.schedule("k" * 64, clock.now - 1)
    await scheduler.wait_idle()
    assert "expiring a proposal failed" in caplog.text
