"""Retries: 429 honours Retry-After, 502/503/504 and timeouts back off, all inside the budget; creates and deletes
never retry."""

from __future__ import annotations

import httpx
import pytest

from dataverse.webapi import (
    AuthenticationError,
    ConcurrencyError,
    DataverseConnectionError,
    DataverseTimeoutError,
    NotFoundError,
    OutcomeUnknownError,
    RetryPolicy,
    ServerError,
    ThrottledError,
)

RECORD = "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d"
OK_ROWS = httpx.Response(200, json={"value": [{"name": "Contoso"}]})
CREATED = httpx.Response(
    204, headers={"OData-EntityId": f"https://contoso.crm.dynamics.com/api/data/v9.2/accounts({RECORD})"}
)


def throttled(retry_after: str | None = "2") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit of 6000."}}
    return httpx.Response(429, json=body, headers=headers)


def unavailable(status: int = 503) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": "", "message": "Service Unavailable"}})


async def test_429_waits_for_retry_after_then_succeeds(harness):
    h = harness(throttled("2"), OK_ROWS)
    page = await h.client.query("accounts")
    assert page.rows == [{"name": "Contoso"}]
    assert h.sleeps == [2.0]
    assert len(h.requests) == 2


async def test_429_without_retry_after_backs_off(harness):
    h = harness(throttled(None), OK_ROWS)
    await h.client.query("accounts")
    assert h.sleeps == [0.375]  # base 0.5 s, jitter fixed at the midpoint: 0.5 * (0.5 + 0.25)


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_on_get_are_retried_with_exponential_backoff(harness, status):
    h = harness(unavailable(status), unavailable(status), OK_ROWS)
    page = await h.client.query("accounts")
    assert page.rows
    assert h.sleeps == [0.375, 0.75]
    assert len(h.requests) == 3


async def test_500_on_get_is_not_retried(harness):
    h = harness(unavailable(500), OK_ROWS)
    with pytest.raises(ServerError):
        await h.client.query("accounts")
    assert len(h.requests) == 1


async def test_503_on_create_is_not_retried_and_the_outcome_is_unknown(harness):
    h = harness(unavailable(503), CREATED)
    with pytest.raises(OutcomeUnknownError) as caught:
        await h.client.create("accounts", {"name": "Contoso"})
    assert len(h.requests) == 1
    assert h.sleeps == []
    assert "may or may not have been applied" in str(caught.value)
    assert "before creating it again" in str(caught.value)
    assert caught.value.status == 503


async def test_500_on_create_is_also_an_unknown_outcome(harness):
    h = harness(unavailable(500))
    with pytest.raises(OutcomeUnknownError):
        await h.client.create("accounts", {"name": "Contoso"})
    assert len(h.requests) == 1


async def test_read_timeout_on_create_is_an_unknown_outcome(harness):
    h = harness(httpx.ReadTimeout("no answer"), CREATED)
    with pytest.raises(OutcomeUnknownError, match="may or may not"):
        await h.client.create("accounts", {"name": "Contoso"})
    assert len(h.requests) == 1


async def test_connection_refused_on_create_says_nothing_was_changed(harness):
    h = harness(httpx.ConnectError("refused"), CREATED)
    with pytest.raises(DataverseConnectionError, match="nothing was changed"):
        await h.client.create("accounts", {"name": "Contoso"})
    assert len(h.requests) == 1


async def test_429_on_create_is_not_retried(harness):
    h = harness(throttled("1"), CREATED)
    with pytest.raises(ThrottledError) as caught:
        await h.client.create("accounts", {"name": "Contoso"})
    assert caught.value.retry_after == 1.0
    assert len(h.requests) == 1


async def test_timeout_on_get_is_retried(harness):
    h = harness(httpx.ReadTimeout("slow"), OK_ROWS)
    page = await h.client.query("accounts")
    assert page.rows
    assert len(h.requests) == 2


async def test_timeouts_that_persist_raise_a_timeout_error_after_max_attempts(harness):
    h = harness(httpx.ReadTimeout("slow"), max_attempts=3)
    with pytest.raises(DataverseTimeoutError, match="gave up after 3 attempts"):
        await h.client.query("accounts")
    assert len(h.requests) == 3
    assert len(h.sleeps) == 2


async def test_gateway_errors_that_persist_raise_server_error(harness):
    h = harness(unavailable(503), max_attempts=4)
    with pytest.raises(ServerError, match="gave up after 4 attempts") as caught:
        await h.client.query("accounts")
    assert caught.value.status == 503
    assert len(h.requests) == 4


async def test_retry_after_beyond_the_budget_raises_at_once(harness):
    h = harness(throttled("30"), OK_ROWS, budget_seconds=20)
    with pytest.raises(ThrottledError) as caught:
        await h.client.query("accounts")
    assert "throttled, retry after 30 s" in str(caught.value)
    assert caught.value.retry_after == 30.0
    assert caught.value.code == "0x80072322"
    assert h.sleeps == []
    assert len(h.requests) == 1


async def test_waits_add_up_against_the_budget(harness):
    h = harness(throttled("8"), budget_seconds=20, max_attempts=10)
    with pytest.raises(ThrottledError, match="throttled, retry after 8 s"):
        await h.client.query("accounts")
    assert h.sleeps == [8.0, 8.0]  # a third wait would make 24 s, over the 20 s budget
    assert len(h.requests) == 3


async def test_fractional_retry_after_is_reported_rounded_up(harness):
    h = harness(throttled("2.2"), budget_seconds=1)
    with pytest.raises(ThrottledError, match="retry after 3 s"):
        await h.client.query("accounts")


async def test_401_is_never_retried(harness):
    unauthorized = httpx.Response(
        401, headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="The token is expired"'}
    )
    h = harness(unauthorized, OK_ROWS)
    with pytest.raises(AuthenticationError, match="The token is expired"):
        await h.client.query("accounts")
    assert len(h.requests) == 1


async def test_each_attempt_asks_for_a_fresh_token(harness):
    h = harness(unavailable(503), OK_ROWS)
    await h.client.query("accounts")
    assert [r.headers["Authorization"] for r in h.requests] == ["Bearer token-1", "Bearer token-2"]


async def test_update_with_if_match_is_retried(harness):
    h = harness(unavailable(503), httpx.Response(204))
    await h.client.update("accounts", RECORD, {"name": "New"}, etag='W/"1"')
    assert len(h.requests) == 2
    assert all(r.headers["If-Match"] == 'W/"1"' for r in h.requests)


async def test_a_retried_update_meeting_412_reports_an_unknown_outcome(harness):
    # The first attempt may have applied the change (bumping the ETag), so 412 on the retry proves nothing.
    h = harness(unavailable(503), httpx.Response(412, json={"error": {"code": "0x80060882", "message": "changed"}}))
    with pytest.raises(OutcomeUnknownError, match="earlier attempt may already have been applied"):
        await h.client.update("accounts", RECORD, {"name": "New"}, etag='W/"1"')


@pytest.mark.parametrize("etag", [None, 'W/"5"'])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_delete_that_fails_after_it_was_sent_is_an_unknown_outcome_and_is_not_retried(harness, etag, status):
    h = harness(unavailable(status), httpx.Response(204))
    with pytest.raises(OutcomeUnknownError, match="still exists"):
        await h.client.delete("accounts", RECORD, etag=etag)
    assert len(h.requests) == 1 and h.sleeps == []


@pytest.mark.parametrize("lost", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("connection dropped")])
async def test_a_delete_whose_answer_was_lost_is_sent_once(harness, lost):
    # A retry would meet 404 if the first attempt deleted the row, and could not tell that from "never existed".
    h = harness(lost, httpx.Response(404, json={"error": {"code": "0x80040217", "message": "x"}}))
    with pytest.raises(OutcomeUnknownError, match="may or may not have been applied"):
        await h.client.delete("accounts", RECORD, etag='W/"5"')
    assert len(h.requests) == 1 and h.requests[0].headers["If-Match"] == 'W/"5"'


async def test_a_delete_that_could_not_connect_says_nothing_was_deleted(harness):
    h = harness(httpx.ConnectError("refused"), httpx.Response(204))
    with pytest.raises(DataverseConnectionError, match="nothing was changed"):
        await h.client.delete("accounts", RECORD, etag='W/"5"')
    assert len(h.requests) == 1


async def test_a_throttled_delete_is_not_retried(harness):
    h = harness(throttled("2"), httpx.Response(204))
    with pytest.raises(ThrottledError, match="retry after 2 s"):
        await h.client.delete("accounts", RECORD, etag='W/"5"')
    assert len(h.requests) == 1 and h.sleeps == []


@pytest.mark.parametrize(("status", "code", "error_type"), [
    (412, "0x80060882", ConcurrencyError), (404, "0x80040217", NotFoundError),
])
async def test_a_delete_refused_at_the_first_attempt_says_why(harness, status, code, error_type):
    h = harness(httpx.Response(status, json={"error": {"code": code, "message": "refused"}}))
    with pytest.raises(error_type):
        await h.client.delete("accounts", RECORD, etag='W/"5"')
    assert len(h.requests) == 1


async def test_each_attempt_is_reported_to_the_telemetry_hook(harness):
    limited = httpx.Response(
        429,
        headers={
            "Retry-After": "1",
            "x-ms-service-request-id": "req-1",
            "x-ms-ratelimit-time-remaining-xrm-requests": "1200.5",
        },
    )
    h = harness(limited, httpx.ReadTimeout("slow"), OK_ROWS)
    await h.client.query("accounts")
    assert [(i.attempt, i.status, i.error) for i in h.infos] == [
        (1, 429, None),
        (2, None, "ReadTimeout"),
        (3, 200, None),
    ]
    assert h.infos[0].request_id == "req-1"
    assert h.infos[0].rate_limit == {"x-ms-ratelimit-time-remaining-xrm-requests": "1200.5"}
    assert h.infos[0].path == "/api/data/v9.2/accounts"
    assert all(i.method == "GET" and i.duration_seconds >= 0 for i in h.infos)


async def test_a_failing_telemetry_hook_does_not_break_the_request(harness):
    calls = []

    def broken(info):
        calls.append(info.status)
        raise RuntimeError("telemetry down")

    h = harness(OK_ROWS, on_response=broken)
    page = await h.client.query("accounts")
    assert page.rows == [{"name": "Contoso"}]
    assert calls == [200]


async def test_a_raw_delete_is_not_retried_even_with_if_match(harness):
    h = harness(unavailable(503), httpx.Response(204))
    with pytest.raises(OutcomeUnknownError):
        await h.client.request_json("DELETE", f"accounts({RECORD})/opportunity_customer_accounts/$ref",
                                    headers={"If-Match": "*"})
    assert len(h.requests) == 1


async def test_a_zero_budget_means_no_retries(harness):
    h = harness(unavailable(503), OK_ROWS, budget_seconds=0)
    with pytest.raises(ServerError, match="gave up after 1 attempt"):
        await h.client.query("accounts")
    assert len(h.requests) == 1 and h.sleeps == []


@pytest.mark.parametrize("options", [
    {"budget_seconds": -1}, {"budget_seconds": float("nan")}, {"budget_seconds": float("inf")},
    {"budget_seconds": "20"}, {"base_backoff_seconds": -0.5}, {"max_attempts": 0}, {"max_attempts": 2.5},
])
def test_a_retry_policy_that_makes_no_sense_is_refused(options):
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(**options)
