"""Proposals at the storage level: the token is strong and never stored, the row outlives the token so that a
late confirmation can say "expired", and of any number of racing consumers exactly one takes the proposal — on the
in-memory store and on Table Storage (Azurite)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from dataverse.storage import ConcurrencyError, MemoryStore, RecordNotFoundError, Store, create_table_store
from dataverse.tools.confirm.proposals import (
    PROPOSALS_COLLECTION,
    TOMBSTONE_SECONDS,
    DeleteAction,
    ImpactSummary,
    Proposal,
    ProposalBook,
    new_confirmation_token,
    proposal_key,
)
from tests.azurite import AzuriteTable, running_azurite

RECORD_ID = "a6a3a450-6513-470e-a69e-0d37f2a74de4"


class FakeClock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def make_proposal(now: float, *, ttl: float = 120, user: str = "oid-alice") -> Proposal:
    return Proposal(
        user_oid=user, environment="https://contoso.crm.dynamics.com", table="account", created_at=now,
        expires_at=now + ttl,
        action=DeleteAction(entity_set="accounts", primary_id="accountid", record_id=RECORD_ID, etag='W/"1480001"',
                            impact=ImpactSummary(table="account", id=RECORD_ID, name="Contoso Ltd")),
    )


@pytest.fixture(scope="module")
def azurite() -> Iterator[AzuriteTable]:
    with running_azurite() as emulator:
        yield emulator


@pytest.fixture(params=["memory", "azurite"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Store, FakeClock]]:
    clock = FakeClock()
    if request.param == "memory":
        yield MemoryStore(clock=clock), clock
        return
    emulator: AzuriteTable = request.getfixturevalue("azurite")
    table_store = create_table_store(connection_string=emulator.connection_string,
                                     table_prefix=f"t{uuid.uuid4().hex[:12]}", clock=clock)
    try:
        yield table_store, clock
    finally:
        await table_store.close()


def test_tokens_carry_at_least_128_random_bits_and_differ() -> None:
    tokens = {new_confirmation_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128


def test_the_key_is_the_sha256_of_the_token() -> None:
    token = new_confirmation_token()
    assert proposal_key(token) == hashlib.sha256(token.encode()).hexdigest()
    assert proposal_key(token) != proposal_key(token[:-1] + ("A" if token[-1] != "A" else "B"))


async def test_only_the_hash_is_stored_and_the_row_outlives_the_token(store: tuple[Store, FakeClock]) -> None:
    backend, clock = store
    book = ProposalBook(backend)
    proposal = make_proposal(clock.now, ttl=120)
    token, key = await book.create_proposal(proposal, now=clock.now)
    record = await backend.collection(PROPOSALS_COLLECTION).get(key)
    assert record is not None and key == proposal_key(token)
    assert token not in json.dumps(record.value) and token != key
    assert record.expires_at == pytest.approx(proposal.expires_at + TOMBSTONE_SECONDS, abs=1)
    found = await book.get_proposal(key)
    assert found is not None and found[0] == proposal


def test_a_proposal_is_expired_from_its_expiry_instant_on() -> None:
    proposal = make_proposal(1000.0, ttl=120)
    assert not proposal.is_expired(1119.9)
    assert proposal.is_expired(1120.0)
    assert proposal.tombstone().is_expired(1000.0)
    assert proposal.tombstone().action is None


async def test_expired_but_unswept_rows_are_still_readable_as_expired(store: tuple[Store, FakeClock]) -> None:
    backend, clock = store
    book = ProposalBook(backend)
    proposal = make_proposal(clock.now, ttl=120)
    _, key = await book.create_proposal(proposal, now=clock.now)
    clock.now += 121
    found = await book.get_proposal(key)
    assert found is not None and found[0].is_expired(clock.now)
    clock.now += TOMBSTONE_SECONDS
    assert await book.get_proposal(key) is None


async def test_exactly_one_of_32_racing_consumers_takes_the_proposal(store: tuple[Store, FakeClock]) -> None:
    backend, clock = store
    book = ProposalBook(backend)
    proposal = make_proposal(clock.now)
    _, key = await book.create_proposal(proposal, now=clock.now)
    results = await asyncio.gather(*(book.consume_proposal(key) for _ in range(32)))
    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert winners[0][0] == proposal
    assert await book.get_proposal(key) is None


async def test_a_tombstone_cannot_overwrite_a_consumed_proposal(store: tuple[Store, FakeClock]) -> None:
    backend, clock = store
    book = ProposalBook(backend)
    proposal = make_proposal(clock.now)
    _, key = await book.create_proposal(proposal, now=clock.now)
    found = await book.get_proposal(key)
    assert found is not None
    assert await book.consume_proposal(key) is not None
    with pytest.raises(RecordNotFoundError):
        await book.replace_with_tombstone(key, proposal, etag=found[1])
    assert await book.get_proposal(key) is None


async def test_a_tombstone_written_after_a_read_is_not_mistaken_for_the_proposal(
    store: tuple[Store, FakeClock],
) -> None:
    backend, clock = store
    book = ProposalBook(backend)
    proposal = make_proposal(clock.now)
    _, key = await book.create_proposal(proposal, now=clock.now)
    found = await book.get_proposal(key)
    assert found is not None
    await book.replace_with_tombstone(key, proposal, etag=found[1])
    with pytest.raises(ConcurrencyError):  # a second expiry run holding the old ETag loses
        await book.replace_with_tombstone(key, proposal, etag=found[1])
    taken = await book.consume_proposal(key)
    assert taken is not None
    assert taken[1] != found[1] and taken[0].status == "expired" and taken[0].action is None
