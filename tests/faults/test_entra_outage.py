"""Microsoft Entra ID unreachable (the sandbox Entra answering 503) while a tool call needs it, through the full
sandbox-mode app: with a cold OBO cache, and with an upstream token that must be refreshed first. The tool call
gets a clear "sign-in service unavailable, retry" tool error (HTTP 200, never a 401 that would make the connector
sign in again), nothing stored is lost, and once Entra is back the same MCP access and refresh tokens work."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from dataverse.oauth.crypto import hash_secret
from dataverse.oauth.models import COLLECTIONS
from dataverse.oauth.repository import OAuthRepository
from dataverse.sandbox.runtime import SandboxRuntime, create_sandbox_runtime
from dataverse.sandbox.signin import sign_in
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings
from dataverse.storage import MemoryStore
from tests.e2e.harness import lifespan

BASE_URL = "http://127.0.0.1:7071"
QUERY = {"table": "account", "top": 1}
MSAL_THROTTLE_SECONDS = 1.1  # MSAL replays a 503 for its Retry-After (the sandbox sends 1 s) before asking again
_ids = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class EntraOutage:
    runtime: SandboxRuntime
    store: MemoryStore
    clock: Clock
    http: httpx.AsyncClient
    app: Any

    async def sign_in(self) -> dict[str, Any]:
        tokens = await sign_in(self.app, base_url=BASE_URL, user=ALICE, client=self.http)
        record, _ = await OAuthRepository(self.store).access_tokens.get(hash_secret(str(tokens["access_token"])))
        return {**tokens, "client_id": record.client_id, "grant_id": record.grant_id}

    async def query(self, bearer: str) -> dict[str, Any]:
        response = await self.http.post("/mcp", json={
            "jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
            "params": {"name": "query_records", "arguments": QUERY}}, headers={
            "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18",
            "Authorization": f"Bearer {bearer}"})
        assert response.status_code == 200, (response.status_code, response.text)  # never a 401: no new sign-in
        return response.json()["result"]

    def stored_grant(self, grant_id: str) -> str:
        return self.store.collection(COLLECTIONS["grants"])._rows[grant_id].text  # the raw stored JSON

    def set_outage(self, down: bool) -> None:
        self.runtime.entra_registry.outage = "unavailable" if down else "none"


@contextlib.asynccontextmanager
async def running(**settings: Any) -> AsyncIterator[EntraOutage]:
    clock, store = Clock(), MemoryStore()
    runtime = create_sandbox_runtime(Settings(public_base_url=BASE_URL, **settings), store=store, clock=clock,
                                     today=date(2026, 3, 12))
    app = runtime.build_app()
    async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                                timeout=60) as http:
        yield EntraOutage(runtime=runtime, store=store, clock=clock, http=http, app=app)


def assert_sign_in_service_unavailable(result: dict[str, Any]) -> None:
    text = result["content"][0]["text"]
    assert result["isError"] is True
    assert "Microsoft Entra ID" in text and "temporarily unavailable" in text and "retry" in text.lower()
    assert "stays signed in" in text


async def test_obo_with_a_cold_cache_during_an_outage_fails_clearly_and_loses_nothing() -> None:
    async with running() as entra:
        tokens = await entra.sign_in()  # no tool call yet: the OBO cache is cold
        grant_before = entra.stored_grant(tokens["grant_id"])
        entra.set_outage(True)
        token_requests = entra.runtime.entra_registry.request_counts["token"]
        assert_sign_in_service_unavailable(await entra.query(tokens["access_token"]))
        assert entra.runtime.entra_registry.request_counts["token"] > token_requests  # Entra was really asked
        assert entra.runtime.organization.stats.count() == 0  # no Dataverse request went out without a token
        assert entra.stored_grant(tokens["grant_id"]) == grant_before

        entra.set_outage(False)
        await asyncio.sleep(MSAL_THROTTLE_SECONDS)
        assert (await entra.query(tokens["access_token"]))["isError"] is False
        renewed = await entra.http.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tokens["client_id"]})
        assert renewed.status_code == 200, renewed.text
        assert (await entra.query(renewed.json()["access_token"]))["isError"] is False


async def test_an_expired_upstream_token_that_cannot_be_refreshed_keeps_the_grant_intact() -> None:
    async with running(access_token_ttl_seconds=6 * 3600) as entra:
        tokens = await entra.sign_in()
        assert (await entra.query(tokens["access_token"]))["isError"] is False  # OBO cached, upstream token stored
        grant_before = entra.stored_grant(tokens["grant_id"])
        entra.clock.offset = 2 * 3600  # the upstream Entra token (1 h) and the cached Dataverse token are stale
        entra.set_outage(True)
        assert_sign_in_service_unavailable(await entra.query(tokens["access_token"]))
        assert entra.stored_grant(tokens["grant_id"]) == grant_before  # the upstream refresh token was not lost

        # our own refresh grant needs no Entra call, so the connector can keep renewing through the outage
        renewed = await entra.http.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tokens["client_id"]})
        assert renewed.status_code == 200, renewed.text

        entra.set_outage(False)
        await asyncio.sleep(MSAL_THROTTLE_SECONDS)
        assert (await entra.query(tokens["access_token"]))["isError"] is False
        assert entra.stored_grant(tokens["grant_id"]) != grant_before  # renewed upstream tokens were persisted
        assert (await entra.query(renewed.json()["access_token"]))["isError"] is False
