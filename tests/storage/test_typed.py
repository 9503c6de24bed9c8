"""TypedCollection: pydantic models stored as JSON and validated on the way out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from dataverse.storage import ConcurrencyError, RecordExistsError, Store, TypedCollection


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


async def test_a_model_round_trips_with_its_types(store: Store) -> None:
    codes = TypedCollection(store.collection("codes"), AuthorizationCode)
    etag = await codes.create("h1", make_code(code_challenge="abc"), ttl_seconds=60)
    item, got_etag = await codes.get("h1")
    assert item == make_code(code_challenge="abc")
    assert isinstance(item.issued_at, datetime) and got_etag == etag
    assert await codes.get("absent") is None


async def test_writes_return_fresh_etags_and_replace_checks_them(store: Store) -> None:
    codes = TypedCollection(store.collection("codes"), AuthorizationCode)
    first = await codes.create("h1", make_code())
    with pytest.raises(RecordExistsError):
        await codes.create("h1", make_code())
    second = await codes.replace("h1", make_code(scopes=["a"]), etag=first)
    third = await codes.upsert("h1", make_code(scopes=["b"]))
    assert len({first, second, third}) == 3
    with pytest.raises(ConcurrencyError):
        await codes.replace("h1", make_code(), etag=second)
    with pytest.raises(ConcurrencyError):
        await codes.delete("h1", etag=second)
    await codes.delete("h1", etag=third)
    assert await codes.get("h1") is None


async def test_consume_returns_the_model_once(store: Store) -> None:
    codes = TypedCollection(store.collection("codes"), AuthorizationCode)
    await codes.create("h1", make_code())
    assert await codes.consume("h1") == make_code()
    assert await codes.consume("h1") is None


async def test_the_wrong_model_is_refused_on_write(store: Store) -> None:
    codes = TypedCollection(store.collection("codes"), AuthorizationCode)
    with pytest.raises(TypeError):
        await codes.create("h1", OtherModel(name="x"))  # type: ignore[arg-type]


async def test_a_stored_value_that_no_longer_fits_the_model_raises(store: Store) -> None:
    await store.collection("codes").create("h1", {"client_id": "x"})
    with pytest.raises(ValidationError):
        await TypedCollection(store.collection("codes"), AuthorizationCode).get("h1")
