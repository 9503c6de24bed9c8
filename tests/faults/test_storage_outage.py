"""Table Storage going away mid-run, through the full sandbox-mode app on Azurite (persisted to disk, so the data
survives the restart): every endpoint that needs storage answers 503 temporarily_unavailable with Retry-After (never
a 500, never a 401 that would send the connector through sign-in again), /health says storage is unavailable, and
after Azurite restarts everything works with the same tokens and no half-written state is left behind."""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient

from dataverse.oauth.crypto import hash_secret
from dataverse.oauth.repository import OAuthRepository
from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.runtime import SandboxRuntime, create_sandbox_runtime
from dataverse.sandbox.signin import sign_in
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings
from dataverse.storage import create_table_store
from dataverse.storage.protocol import Store
from dataverse.tools.confirm.proposals import PROPOSALS_COLLECTION
from tests.azurite import AzuriteTable, running_azurite
from tests.e2e.harness import lifespan

BASE_URL = "http://127.0.0.1:7071"
QUERY = {"table": "account", "top": 1}
_ids = itertools.count(1)


class Clock:
    """Wall-clock time the test moves forward (past the bearer check's 60 s cache)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def disk_azurite() -> Iterator[AzuriteTable]:
    with running_azurite(persistent=True) as emulator:
        yield emulator


@dataclass
class Outage:
    azurite: AzuriteTable
    runtime: SandboxRuntime
    app: Any
    store: Store
    prefix: str
    clock: Clock
    http: httpx.AsyncClient

    async def call_tool(self, bearer: str, tool: str, arguments: dict[str, Any]) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}
        return await self.http.post("/mcp", json=body, headers={
            "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18",
            "Authorization": f"Bearer {bearer}"})

    def stored_rows(self, collection: str) -> list[dict[str, Any]]:
        """The rows Azurite holds for a collection, read past the app (the oracle)."""
        service = TableServiceClient.from_connection_string(self.azurite.connection_string)
        try:
            return list(service.get_table_client(self.prefix + collection).list_entities())
        except ResourceNotFoundError:
            return []
        finally:
            service.close()


@contextlib.asynccontextmanager
async def app_on_azurite(azurite: AzuriteTable) -> AsyncIterator[Outage]:
    azurite.start()
    prefix = f"o{secrets.token_hex(6)}"
    store = create_table_store(connection_string=azurite.connection_string, table_prefix=prefix)
    clock = Clock()
    runtime = create_sandbox_runtime(Settings(public_base_url=BASE_URL), store=store, clock=clock,
                                     today=date(2026, 3, 12))
    app = runtime.build_app()
    try:
        async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                                    timeout=60) as http:
            yield Outage(azurite=azurite, runtime=runtime, app=app, store=store, prefix=prefix, clock=clock, http=http)
    finally:
        azurite.start()
        await store.close()


def assert_temporarily_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "temporarily_unavailable"


def result_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def test_an_outage_answers_503_everywhere_and_nothing_is_lost_after_the_restart(disk_azurite) -> None:
    async with app_on_azurite(disk_azurite) as outage:
        tokens = await sign_in(outage.app, base_url=BASE_URL, user=ALICE, client=outage.http)
        access, refresh = str(tokens["access_token"]), str(tokens["refresh_token"])
        client_id = (await OAuthRepository(outage.store).access_tokens.get(hash_secret(access)))[0].client_id
        assert result_of(await outage.call_tool(access, "query_records", QUERY))["isError"] is False

        outage.azurite.stop()
        outage.clock.offset = 61  # the bearer check's cache is over: verifying the token needs storage
        assert_temporarily_unavailable(await outage.call_tool(access, "query_records", QUERY))
        health = await outage.http.get("/health")
        assert health.status_code == 503 and health.json()["checks"]["storage"] == "unavailable"
        assert_temporarily_unavailable(await outage.http.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id}))
        assert_temporarily_unavailable(await outage.http.post("/register", json={
            "redirect_uris": ["http://127.0.0.1:33418/callback"], "token_endpoint_auth_method": "none"}))

        outage.azurite.start()
        assert (await outage.http.get("/health")).status_code == 200
        assert result_of(await outage.call_tool(access, "query_records", QUERY))["isError"] is False
        renewed = await outage.http.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id})
        assert renewed.status_code == 200, renewed.text  # the refresh tried in the outage did not spend it
        assert result_of(await outage.call_tool(renewed.json()["access_token"], "query_records", QUERY))[
            "isError"] is False


async def test_a_delete_proposed_during_the_outage_leaves_nothing_behind(disk_azurite) -> None:
    async with app_on_azurite(disk_azurite) as outage:
        tokens = await sign_in(outage.app, base_url=BASE_URL, user=ALICE, client=outage.http)
        access = str(tokens["access_token"])
        organization = outage.runtime.organization
        account_id = next(row["accountid"] for row in organization.all_rows("account")
                          if isinstance(row.get("ownerid"), LookupValue) and row["ownerid"].id == ALICE.systemuser_id)
        assert result_of(await outage.call_tool(access, "query_records", QUERY))["isError"] is False  # warm caches

        outage.azurite.stop()  # the bearer check and the Dataverse token are cached: the tool itself meets the outage
        failed = result_of(await outage.call_tool(access, "delete_record", {"table": "account", "id": account_id}))
        text = failed["content"][0]["text"]
        assert failed["isError"] is True and "storage is temporarily unavailable" in text and "Retry" in text
        assert "confirmation_token" not in json.dumps(failed)

        outage.azurite.start()
        assert outage.stored_rows(PROPOSALS_COLLECTION) == []
        assert organization.get_row("account", account_id) is not None
        assert organization.stats.count(method="DELETE") == 0
        proposal = result_of(await outage.call_tool(access, "delete_record", {"table": "account", "id": account_id}))
        assert proposal["isError"] is False and len(outage.stored_rows(PROPOSALS_COLLECTION)) == 1
        done = result_of(await outage.call_tool(access, "confirm_delete", {
            "confirmation_token": proposal["structuredContent"]["confirmation_token"]}))
        assert done["isError"] is False and organization.get_row("account", account_id) is None
        assert organization.stats.count(method="DELETE") == 1
