"""TypedCollection, the one typed adapter: pydantic models stored as JSON and validated on the way out, absolute
expiry turned into the store's time-to-live by a clock, ETag-conditional replace and delete, consume-once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from dataverse.storage import (
    ConcurrencyError,
    RecordExistsError,
    RecordGoneError,
    RecordNotFoundError,
    Store,
    TypedCollection,
)
from dataverse.storage.typed import MIN_TTL_SECONDS

from .conftest import FakeClock


class AuthorizationCode(BaseModel):
    client_id: str
    user_oid: str
    scopes: list[str]
    issued_at: datetime
    code_challenge: str | None = None


class OtherModel(BaseModel):
    name: str


def make_code(**changes: object) -> AuthorizationCode:
    fields = {
        "client_id": "chatgpt",
        "user_oid": "alice-oid",
        "scopes": ["MCP.Access"],
        "issued_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return AuthorizationCode(**(fields | changes))


def codes_of(store: Store, clock: FakeClock) -> TypedCollection[AuthorizationCode]:
    return TypedCollection(store.collection("codes"), AuthorizationCode, clock=clock)


async def test_a_model_round_trips_with_its_types(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    etag = await codes.create("h1", make_code(code_challenge="abc"), expires_at=clock.now + 60)
    found = await codes.get("h1")
    assert found is not None
    item, got_etag = found
    assert item == make_code(code_challenge="abc")
    assert isinstance(item.issued_at, datetime) and got_etag == etag == found.etag
    assert await codes.get("absent") is None


async def test_writes_return_fresh_etags_and_replace_checks_them(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    first = await codes.create("h1", make_code(), expires_at=None)
    with pytest.raises(RecordExistsError):
        await codes.create("h1", make_code(), expires_at=None)
    second = await codes.replace("h1", make_code(scopes=["a"]), etag=first, expires_at=None)
    third = await codes.upsert("h1", make_code(scopes=["b"]), expires_at=None)
    assert len({first, second, third}) == 3
    with pytest.raises(ConcurrencyError):
        await codes.replace("h1", make_code(), etag=second, expires_at=None)
    with pytest.raises(ConcurrencyError):
        await codes.delete("h1", etag=second)
    assert await codes.delete("h1", etag=third) is True
    assert await codes.get("h1") is None


async def test_a_write_to_a_record_someone_else_removed_is_a_lost_race(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    etag = await codes.create("h1", make_code(), expires_at=None)
    assert await codes.consume("h1") is not None
    with pytest.raises(RecordGoneError) as replaced:
        await codes.replace("h1", make_code(), etag=etag, expires_at=None)
    assert isinstance(replaced.value, ConcurrencyError) and isinstance(replaced.value, RecordNotFoundError)
    with pytest.raises(RecordGoneError):
        await codes.delete("h1", etag=etag)
    assert await codes.delete("h1") is False  # unconditionally: nothing there to delete
    assert await codes.get("h1") is None


async def test_consume_returns_the_model_and_its_etag_once(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    etag = await codes.create("h1", make_code(), expires_at=None)
    assert await codes.consume("h1") == (make_code(), etag)
    assert await codes.consume("h1") is None


async def test_exactly_one_of_many_racing_consumers_gets_the_record(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    await codes.create("h1", make_code(), expires_at=clock.now + 60)
    taken = [result for result in await asyncio.gather(*(codes.consume("h1") for _ in range(16))) if result]
    assert [found.item for found in taken] == [make_code()]


async def test_expiry_is_an_absolute_instant_read_against_the_clock(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    await codes.create("h1", make_code(), expires_at=clock.now + 60)
    record = await store.collection("codes").get("h1")
    assert record is not None and record.expires_at == pytest.approx(clock.now + 60, abs=0.01)
    clock.advance(59)
    assert await codes.get("h1") is not None
    clock.advance(1)
    assert await codes.get("h1") is None and await codes.consume("h1") is None


async def test_the_callers_own_reading_of_the_clock_can_be_given(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, lambda: 0.0)  # a clock nobody else shares: `now=` replaces it for the write
    await codes.create("h1", make_code(), expires_at=1_000.0 + 60, now=1_000.0)
    record = await store.collection("codes").get("h1")
    assert record is not None and record.expires_at == pytest.approx(clock.now + 60, abs=0.01)


async def test_a_write_whose_expiry_has_passed_still_lands_briefly(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    await codes.upsert("h1", make_code(), expires_at=clock.now - 30)
    assert await codes.get("h1") is not None
    clock.advance(MIN_TTL_SECONDS)
    assert await codes.get("h1") is None


async def test_the_wrong_model_is_refused_on_write(store: Store, clock: FakeClock) -> None:
    codes = codes_of(store, clock)
    with pytest.raises(TypeError):
        await codes.create("h1", OtherModel(name="x"), expires_at=None)  # type: ignore[arg-type]


async def test_a_stored_value_that_no_longer_fits_the_model_raises(store: Store, clock: FakeClock) -> None:
    await store.collection("codes").create("h1", {"client_id": "x"})
    with pytest.raises(ValidationError):
        await codes_of(store, clock).get("h1")
