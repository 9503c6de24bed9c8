"""Consume-once across instances: the same refresh token, or the same confirmation token, sent to every instance at
once. Each is spent by exactly one request, whichever instance it reached; the others are refused without harm."""

from __future__ import annotations

import asyncio

import httpx

from .calls import call_tool, ok, refresh, sign_in_with_official_client, tool_result
from .cluster import Cluster

RACERS = 12


async def test_racing_refreshes_on_every_instance_rotate_once_and_lose_nothing(cluster: Cluster):
    signed_in, _ = await sign_in_with_official_client(cluster)
    spent = signed_in.tokens.refresh_token
    assert spent
    async with httpx.AsyncClient(timeout=30) as http:
        start = len(cluster.proxy.log)
        answers = await asyncio.gather(*(refresh(http, cluster, signed_in, spent) for _ in range(RACERS)))

        assert set(cluster.proxy.served_by(since=start, path_prefix="/token")) == {0, 1, 2}
        winners = [answer for answer in answers if answer.status_code == 200]
        losers = [answer for answer in answers if answer.status_code != 200]
        assert len(winners) == 1, [answer.status_code for answer in answers]
        assert all(answer.status_code == 400 and answer.json()["error"] == "invalid_grant" for answer in losers)

        renewed = winners[0].json()
        for _ in range(3):  # the winner's access token works everywhere: the grant was not revoked by the losers
            await ok(http, cluster, renewed["access_token"], "whoami", {})
        again = await refresh(http, cluster, signed_in, renewed["refresh_token"])
        assert again.status_code == 200, again.text


async def race_confirmations(http: httpx.AsyncClient, cluster: Cluster, bearer: str, confirm_tool: str,
                             token: str) -> list[tuple[bool, object]]:
    """RACERS concurrent calls of `confirm_tool` with one token, spread over every instance; (is_error, result)."""
    start = len(cluster.proxy.log)
    answers = await asyncio.gather(*(call_tool(http, cluster, bearer, confirm_tool, {"confirmation_token": token})
                                     for _ in range(RACERS)))
    assert set(cluster.proxy.served_by(since=start, path_prefix="/mcp")) == {0, 1, 2}
    return [tool_result(answer) for answer in answers]


async def test_racing_delete_confirmations_on_every_instance_delete_once(cluster: Cluster):
    signed_in, _ = await sign_in_with_official_client(cluster)
    async with httpx.AsyncClient(timeout=30) as http:
        created = await ok(http, cluster, signed_in.bearer, "create_record",
                           {"table": "account", "values": {"name": "Scale-out confirmation race"}})
        record_id = created["id"]
        proposal = await ok(http, cluster, signed_in.bearer, "delete_record", {"table": "account", "id": record_id})

        outcomes = await race_confirmations(http, cluster, signed_in.bearer, "confirm_delete",
                                            proposal["confirmation_token"])

    confirmed = [result for is_error, result in outcomes if not is_error]
    refused = [result for is_error, result in outcomes if is_error]
    assert len(confirmed) == 1, outcomes
    assert all("already been used" in str(text) for text in refused), refused
    assert cluster.sandbox_requests(method="DELETE", path=f"/api/data/v9.2/accounts({record_id})") == 1


async def test_racing_bulk_confirmations_on_every_instance_apply_once(cluster: Cluster):
    """A bulk update of more rows than BULK_CONFIRM_THRESHOLD is proposed on one instance; its confirmation, raced on
    every instance, applies one $batch."""
    signed_in, _ = await sign_in_with_official_client(cluster)
    async with httpx.AsyncClient(timeout=30) as http:
        created = [await ok(http, cluster, signed_in.bearer, "create_record",
                            {"table": "account", "values": {"name": f"Scale-out bulk {number}"}})
                   for number in range(12)]
        rows = [{"id": record["id"], "values": {"description": "raced"}} for record in created]
        proposal = await ok(http, cluster, signed_in.bearer, "bulk_update_records", {"table": "account",
                                                                                     "rows": rows})
        assert proposal["status"] == "proposed" and proposal["count"] == len(rows)
        batches_before = cluster.sandbox_requests(method="POST", path="/api/data/v9.2/$batch")

        outcomes = await race_confirmations(http, cluster, signed_in.bearer, "confirm_bulk_change",
                                            proposal["confirmation_token"])

    confirmed = [result for is_error, result in outcomes if not is_error]
    refused = [result for is_error, result in outcomes if is_error]
    assert len(confirmed) == 1, outcomes
    assert all("already been used" in str(text) for text in refused), refused
    assert cluster.sandbox_requests(method="POST", path="/api/data/v9.2/$batch") == batches_before + 1
