"""Fault injection and request counting: 429 with Retry-After and the service-protection body for the next N
requests, 5xx for the next N (optionally one method), added latency, hangs, the HTTP control routes, and the
per-method/path request counter."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sandbox_dataverse_support import API, MOUNT

CONTROL = MOUNT + "/sandbox-control"


async def test_throttle_answers_429_with_retry_after_then_recovers(alice, org):
    org.faults.update(throttle={"count": 2, "retry_after": 7})
    statuses = []
    for _ in range(3):
        response = await alice.get(f"{API}/WhoAmI")
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["retry-after"] == "7"
            assert response.json() == {"error": {"code": "0x80072322", "message": (
                "Number of requests exceeded the limit of 6000 over time window of 300 seconds.")}}
            assert response.headers["odata-version"] == "4.0"
    assert statuses == [429, 429, 200]


async def test_server_errors_only_for_the_chosen_method(alice, org):
    org.faults.update(server_error={"count": 1, "status": 502, "method": "POST"})
    assert (await alice.get(f"{API}/WhoAmI")).status_code == 200
    before = len(org.rows["account"])
    failed = await alice.post(f"{API}/accounts", json={"name": "Once"})
    assert failed.status_code == 502 and len(org.rows["account"]) == before
    assert (await alice.post(f"{API}/accounts", json={"name": "Twice"})).status_code == 204


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_each_gateway_status_can_be_injected(alice, org, status):
    org.faults.update(server_error={"count": 1, "status": status})
    assert (await alice.get(f"{API}/WhoAmI")).status_code == status
    assert (await alice.get(f"{API}/WhoAmI")).status_code == 200


async def test_hang_outlasts_a_client_timeout(app, org):
    from sandbox_dataverse_support import HOST, token_for

    from dataverse.sandbox.users import ALICE

    org.faults.update(hang={"count": 1, "seconds": 5})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HOST,
                                 headers={"Authorization": f"Bearer {token_for(ALICE)}"}) as client:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.get(f"{API}/WhoAmI"), timeout=0.2)
        assert org.faults.hang_count == 0
        assert (await client.get(f"{API}/WhoAmI")).status_code == 200


async def test_latency_is_applied_before_answering(alice, org, monkeypatch):
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("dataverse.sandbox.dataverse.faults.asyncio.sleep", recording_sleep)
    org.faults.update(latency_ms=250)
    assert (await alice.get(f"{API}/WhoAmI")).status_code == 200
    assert slept == [0.25]


async def test_control_route_sets_shows_and_resets_the_plan(anonymous, alice, org):
    response = await anonymous.post(f"{CONTROL}/faults", json={
        "throttle": {"count": 1, "retry_after": 2}, "server_error": {"count": 3, "status": 503, "method": "patch"}})
    assert response.status_code == 200
    assert response.json()["throttle_count"] == 1 and response.json()["error_method"] == "PATCH"
    assert (await alice.get(f"{API}/WhoAmI")).status_code == 429
    shown = (await anonymous.get(f"{CONTROL}/faults")).json()
    assert shown["throttle_count"] == 0 and shown["error_count"] == 3
    assert (await anonymous.delete(f"{CONTROL}/faults")).json()["error_count"] == 0
    assert org.faults.error_count == 0


@pytest.mark.parametrize("body", [{"latency_ms": -1}, {"server_error": {"status": 418}}, {"bogus": 1}, [1]])
async def test_control_route_rejects_bad_plans(anonymous, body):
    assert (await anonymous.post(f"{CONTROL}/faults", json=body)).status_code == 400


async def test_stats_count_requests_by_method_and_path(alice, anonymous, org):
    org.stats.reset()
    await alice.get(f"{API}/WhoAmI")
    await alice.get(f"{API}/WhoAmI")
    await alice.post(f"{API}/accounts", json={"name": "Counted"})
    assert org.stats.count(method="GET", path="/api/data/v9.2/WhoAmI") == 2
    assert org.stats.count(method="POST") == 1
    assert org.stats.total == 3
    described = (await anonymous.get(f"{CONTROL}/stats")).json()
    assert described["total"] == 3
    assert {"method": "POST", "path": "/api/data/v9.2/accounts", "count": 1} in described["requests"]
    assert (await anonymous.delete(f"{CONTROL}/stats")).json()["total"] == 0
    assert org.stats.total == 0


async def test_faulted_requests_are_counted_too(alice, org):
    org.stats.reset()
    org.faults.update(throttle={"count": 1})
    await alice.get(f"{API}/WhoAmI")
    assert org.stats.count(path_prefix="/api/data/v9.2/Who") == 1
