"""64-way races through the full sandbox-mode app: one delete proposal confirmed 64 times at once sends exactly one
DELETE to Dataverse (memory store and Table Storage on Azurite), and one refresh token redeemed 64 times at once has
exactly one winner whose renewed grant keeps working (the 63 racing duplicates are refused without revoking it),
while a replay after the rotation still revokes the grant."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from dataverse.oauth.crypto import hash_secret
from dataverse.oauth.repository import OAuthRepository
from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.runtime import SandboxRuntime, create_sandbox_runtime
from dataverse.sandbox.signin import sign_in
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings
from dataverse.storage import MemoryStore, create_table_store
from dataverse.storage.protocol import Store
from tests.azurite import AzuriteTable, running_azurite
from tests.e2e.harness import lifespan

BASE_URL = "http://127.0.0.1:7071"
RACERS = 64
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def azurite() -> Iterator[AzuriteTable]:
    with running_azurite() as emulator:
        yield emulator


@dataclass
class Running:
    runtime: SandboxRuntime
    app: Any
    store: Store
    http: httpx.AsyncClient

    async def sign_in(self) -> dict[str, Any]:
        tokens = await sign_in(self.app, base_url=BASE_URL, user=ALICE, client=self.http)
        record, _ = await OAuthRepository(self.store).access_tokens.get(hash_secret(str(tokens["access_token"])))
        return {**tokens, "client_id": record.client_id}

    async def call_tool(self, bearer: str, tool: str, arguments: dict[str, Any]) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}
        return await self.http.post("/mcp", json=body, headers={
            "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18",
            "Authorization": f"Bearer {bearer}"})

    async def refresh(self, client_id: str, refresh_token: str) -> httpx.Response:
        return await self.http.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})


@contextlib.asynccontextmanager
async def running(store: Store) -> AsyncIterator[Running]:
    runtime = create_sandbox_runtime(Settings(public_base_url=BASE_URL), store=store, today=date(2026, 3, 12))
    app = runtime.build_app()
    try:
        async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                                    timeout=60) as http:
            yield Running(runtime=runtime, app=app, store=store, http=http)
    finally:
        await store.close()


def store_for(kind: str, azurite: AzuriteTable | None) -> Store:
    if kind == "memory":
        return MemoryStore()
    assert azurite is not None
    azurite.start()
    return create_table_store(connection_string=azurite.connection_string, table_prefix=f"c{secrets.token_hex(6)}")


@pytest.fixture(params=["memory", "azurite"])
def store(request: pytest.FixtureRequest) -> Store:
    return store_for(request.param, request.getfixturevalue("azurite") if request.param == "azurite" else None)


def tool_result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["result"]


def alices_account(running_app: Running) -> str:
    for row in running_app.runtime.organization.all_rows("account"):
        owner = row.get("ownerid")
        if isinstance(owner, LookupValue) and owner.id == ALICE.systemuser_id:
            return row["accountid"]
    raise AssertionError("the sandbox seed has no account owned by Alice")


async def test_64_concurrent_confirmations_send_exactly_one_delete(store: Store) -> None:
    async with running(store) as app:
        bearer = str((await app.sign_in())["access_token"])
        account_id = alices_account(app)
        proposal = tool_result(await app.call_tool(bearer, "delete_record", {"table": "account", "id": account_id}))
        assert proposal["isError"] is False, proposal
        token = proposal["structuredContent"]["confirmation_token"]

        results = [tool_result(response) for response in await asyncio.gather(*(
            app.call_tool(bearer, "confirm_delete", {"confirmation_token": token}) for _ in range(RACERS)))]

        succeeded = [result for result in results if not result["isError"]]
        refused = [result["content"][0]["text"] for result in results if result["isError"]]
        assert len(succeeded) == 1 and succeeded[0]["structuredContent"]["deleted"] is True
        assert len(refused) == RACERS - 1
        assert all("already been used" in text for text in refused), set(refused)
        organization = app.runtime.organization
        assert organization.stats.count(method="DELETE") == 1
        assert organization.get_row("account", account_id) is None


async def _race_refreshes(app: Running) -> tuple[dict[str, Any], list[httpx.Response]]:
    tokens = await app.sign_in()
    responses = await asyncio.gather(*(
        app.refresh(tokens["client_id"], tokens["refresh_token"]) for _ in range(RACERS)))
    return tokens, list(responses)


async def test_64_concurrent_refreshes_have_one_winner_whose_grant_stays_valid(azurite: AzuriteTable) -> None:
    async with running(store_for("azurite", azurite)) as app:
        tokens, responses = await _race_refreshes(app)

        winners = [response for response in responses if response.status_code == 200]
        losers = [response for response in responses if response.status_code != 200]
        assert len(winners) == 1 and len(losers) == RACERS - 1
        assert {(response.status_code, response.json()["error"]) for response in losers} == {(400, "invalid_grant")}

        renewed = winners[0].json()
        assert renewed["refresh_token"] != tokens["refresh_token"]
        query = {"table": "account", "top": 1}
        assert tool_result(await app.call_tool(renewed["access_token"], "query_records", query))["isError"] is False
        again = await app.refresh(tokens["client_id"], renewed["refresh_token"])
        assert again.status_code == 200, again.text
        answer = await app.call_tool(again.json()["access_token"], "query_records", query)
        assert tool_result(answer)["isError"] is False


async def test_on_the_memory_store_duplicates_arrive_after_the_rotation_and_count_as_replays() -> None:
    # The memory store completes each request without yielding, so these copies reach the server one after the
    # other, each after the rotation finished: indistinguishable from a stolen token's replay, so the grant is
    # revoked - and still never two winners.
    async with running(MemoryStore()) as app:
        _, responses = await _race_refreshes(app)
        winners = [response for response in responses if response.status_code == 200]
        assert len(winners) == 1
        assert all(response.json()["error"] == "invalid_grant" for response in responses if response.status_code != 200)
        query = {"table": "account", "top": 1}
        assert (await app.call_tool(winners[0].json()["access_token"], "query_records", query)).status_code == 401


async def test_a_replay_after_the_rotation_finished_still_revokes_the_grant(azurite: AzuriteTable) -> None:
    async with running(store_for("azurite", azurite)) as app:
        tokens = await app.sign_in()
        rotated = await app.refresh(tokens["client_id"], tokens["refresh_token"])
        assert rotated.status_code == 200
        replay = await app.refresh(tokens["client_id"], tokens["refresh_token"])
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        revoked = await app.call_tool(rotated.json()["access_token"], "query_records", {"table": "account", "top": 1})
        assert revoked.status_code == 401
        assert (await app.refresh(tokens["client_id"], rotated.json()["refresh_token"])).status_code == 400
