"""Fixtures for the storage suite: one Azurite for the session, a controllable clock, and `store` parametrized over
the in-memory store and Table Storage on Azurite, so one contract suite pins both."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from dataverse.storage import MemoryStore, Store, create_table_store
from tests.azurite import AzuriteTable, running_azurite


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fresh_prefix() -> str:
    """A table-name prefix no other test uses, so tests never see each other's rows."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteTable]:
    with running_azurite() as emulator:
        yield emulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "azurite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def store(store_kind: str, clock: FakeClock, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if store_kind == "memory":
        yield MemoryStore(clock=clock)
        return
    emulator: AzuriteTable = request.getfixturevalue("azurite")
    table_store = create_table_store(
        connection_string=emulator.connection_string, table_prefix=fresh_prefix(), clock=clock
    )
    try:
        yield table_store
    finally:
        await table_store.close()
