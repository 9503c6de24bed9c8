"""Dataverse misbehaving under a real tool call: service-protection throttling (429 + Retry-After), a 503 on a read,
a 503 on a create (never retried, outcome unknown), and a Dataverse that does not answer in time. The faults are the
sandbox's own fault plan; what reached the sandbox is counted by the sandbox itself."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import uvicorn

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import create_sandbox_organization
from dataverse.webapi.client import DataverseClient
from dataverse.webapi.errors import OutcomeUnknownError
from tests.faults.conftest import (
    SANDBOX_URL,
    TODAY,
    ToolHarness,
    build_tool_harness,
    retry_policy,
    rows_of,
    running,
    tool_text,
    user_token,
)

QUERY = {"table": "account", "select": ["name"], "top": 5}
ACCOUNTS_PATH = "/api/data/v9.2/accounts"


async def warm(harness: ToolHarness) -> list[dict]:
    """One clean call first, so the metadata cache is filled and every later request is the query itself."""
    rows = rows_of(await harness.call("query_records", QUERY))
    harness.organization.stats.reset()
    harness.sleeper.waits.clear()
    return rows


async def test_throttled_query_waits_retry_after_and_succeeds_within_the_budget(tools: ToolHarness):
    expected = await warm(tools)
    tools.organization.faults.update(throttle={"count": 2, "retry_after": 1})

    result = await tools.call("query_records", QUERY)

    assert rows_of(result) == expected
    assert tools.sleeper.waits == [1.0, 1.0]  # waited exactly what Retry-After said, twice
    assert tools.organization.stats.count(method="GET", path=ACCOUNTS_PATH) == 3


async def test_throttling_beyond_the_retry_budget_says_throttled_and_when_to_retry():
    async with running(build_tool_harness(retry={"budget_seconds": 5.0})) as harness:
        await warm(harness)
        harness.organization.faults.update(throttle={"count": 10, "retry_after": 7})

        result = await harness.call("query_records", QUERY)

    assert result["isError"] is True
    text = tool_text(result).lower()
    assert "throttled" in text and "retry after 7 s" in text, text
    assert harness.sleeper.waits == []  # a 7 s wait would overrun the 5 s budget: give up at once, no wait
    assert harness.organization.stats.count(path=ACCOUNTS_PATH) == 1


async def test_a_503_on_a_read_is_retried_and_the_call_succeeds(tools: ToolHarness):
    expected = await warm(tools)
    tools.organization.faults.update(server_error={"count": 1, "status": 503, "method": "GET"})

    result = await tools.call("query_records", QUERY)

    assert rows_of(result) == expected
    assert tools.organization.stats.count(method="GET", path=ACCOUNTS_PATH) == 2
    assert len(tools.sleeper.waits) == 1 and tools.sleeper.waits[0] > 0  # backed off before the retry


async def test_503s_that_outlast_the_retries_give_a_tool_error_not_a_crash():
    async with running(build_tool_harness(retry={"max_attempts": 3})) as harness:
        await warm(harness)
        harness.organization.faults.update(server_error={"count": 10, "status": 503, "method": "GET"})

        result = await harness.call("query_records", QUERY)

    assert result["isError"] is True
    assert "503" in tool_text(result)
    assert harness.organization.stats.count(path=ACCOUNTS_PATH) == 3


async def test_a_503_on_create_is_not_retried_and_the_outcome_is_unknown():
    organization = create_sandbox_organization(today=TODAY)
    harness = build_tool_harness(organization=organization)
    token = user_token()

    async def token_source() -> str:
        return token

    client = DataverseClient(SANDBOX_URL, token_source, http=harness.http, retry=retry_policy(harness.sleeper))
    organization.faults.update(server_error={"count": 1, "status": 503, "method": "POST"})
    before = len(organization.rows["account"])

    with pytest.raises(OutcomeUnknownError) as raised:
        await client.create("accounts", {"name": "Fabrikam Fault Test"})

    assert organization.stats.count(method="POST", path=ACCOUNTS_PATH) == 1  # sent once, never retried
    assert harness.sleeper.waits == []
    assert "may or may not have been applied" in str(raised.value)
    assert len(organization.rows["account"]) == before  # the sandbox answered 503 before applying anything
    await harness.http.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def loopback_sandbox():
    """The sandbox Dataverse on a real loopback socket (client timeouts are enforced by the real transport)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    organization = create_sandbox_organization(today=TODAY)
    app = create_sandbox_dataverse_app(
        organization=organization, base_url=url, verify_token=sandbox_token_verifier(url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off",
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn says "started" with a flag only
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the loopback sandbox did not start"
    try:
        yield organization, url
    finally:
        server.should_exit = True
        await task


async def test_dataverse_that_does_not_answer_in_time_gives_a_clear_tool_error(loopback_sandbox):
    organization, url = loopback_sandbox
    harness = build_tool_harness(organization=organization, transport=httpx.AsyncHTTPTransport(),
                                 environment_url=url, timeout=0.2, retry={"max_attempts": 2})
    async with running(harness):
        rows_of(await harness.call("query_records", QUERY))  # warm the metadata cache
        organization.stats.reset()
        organization.faults.update(hang={"count": 10, "seconds": 1.0})

        result = await harness.call("query_records", QUERY)

    assert result["isError"] is True
    text = tool_text(result)
    assert "did not answer in time" in text, text
    assert organization.stats.count(path=ACCOUNTS_PATH) == 2  # a read that times out is retried, then given up

