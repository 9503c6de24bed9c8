"""The /mcp endpoint of the real app (build_app over the sandbox runtime, served by uvicorn on loopback, signed in
through its own OAuth flow) against malformed traffic: an oversized body is refused with 413 before it is parsed,
and bodies that are not JSON or not JSON-RPC get a JSON-RPC error object, never a 500 and never a tool call."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
import uvicorn

from dataverse.app import MAX_MCP_BODY_BYTES
from dataverse.sandbox.runtime import create_sandbox_runtime
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings
from tests.faults.conftest import TODAY


@pytest.fixture
async def mcp():
    """(httpx client for the served app with Alice's bearer and MCP headers, the sandbox organisation)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    runtime = create_sandbox_runtime(Settings(public_base_url=base_url), today=TODAY)
    app = runtime.build_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            token = await runtime.sign_in(app, ALICE, client=client)
            client.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                   "Accept": "application/json, text/event-stream",
                                   "MCP-Protocol-Version": "2025-06-18"})
            runtime.organization.stats.reset()
            yield client, runtime.organization
    finally:
        server.should_exit = True
        await task


def tools_call(arguments: dict, *, padding: str = "") -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "query_records", "arguments": arguments, "_meta": {"pad": padding}}}).encode()


async def test_the_signed_in_client_can_call_a_tool(mcp):
    client, organization = mcp
    response = await client.post("/mcp", content=tools_call({"table": "account", "top": 2}))
    assert response.status_code == 200
    assert len(response.json()["result"]["structuredContent"]["rows"]) == 2
    assert organization.stats.count(path="/api/data/v9.2/accounts") == 1


async def test_a_body_over_one_megabyte_gets_413_and_reaches_nothing(mcp):
    client, organization = mcp
    body = tools_call({"table": "account", "top": 2}, padding="x" * MAX_MCP_BODY_BYTES)
    assert len(body) > 1024 * 1024

    response = await client.post("/mcp", content=body)

    assert response.status_code == 413
    assert organization.stats.total == 0


async def test_a_body_just_under_the_limit_is_still_served(mcp):
    client, _ = mcp
    body = tools_call({"table": "account", "top": 1}, padding="x" * (MAX_MCP_BODY_BYTES - 1024))
    assert len(body) <= MAX_MCP_BODY_BYTES
    response = await client.post("/mcp", content=body)
    assert response.status_code == 200 and "result" in response.json()


@pytest.mark.parametrize("body", [b"{bad json", b"", b"\xff\xfe", b'{"jsonrpc": "2.0", "id": 1, "method": '])
async def test_a_body_that_is_not_json_gets_a_parse_error(mcp, body: bytes):
    client, organization = mcp
    response = await client.post("/mcp", content=body)
    assert response.status_code == 400
    message = response.json()
    assert message["jsonrpc"] == "2.0" and message["id"] is None
    assert message["error"]["code"] == -32700
    assert organization.stats.total == 0


INVALID_REQUESTS = [
    {"foo": 1},
    {"jsonrpc": "1.0", "id": 1, "method": "tools/call"},
    {"jsonrpc": "2.0", "id": 1, "method": 42},
    [],
    "tools/call",
]


@pytest.mark.parametrize("payload", INVALID_REQUESTS)
async def test_json_that_is_not_a_json_rpc_request_gets_a_json_rpc_error_not_a_crash(mcp, payload):
    client, organization = mcp
    response = await client.post("/mcp", content=json.dumps(payload))
    assert response.status_code == 400
    message = response.json()
    assert message["jsonrpc"] == "2.0" and message["id"] is None
    assert message["error"]["code"] == -32600  # JSON-RPC 2.0 section 5.1: Invalid Request
    assert organization.stats.total == 0


async def test_a_request_with_an_object_id_is_never_executed(mcp):
    # mcp 2.3.0 alone reads it as a notification (202, no answer); our envelope guard answers -32600.
    client, organization = mcp
    response = await client.post("/mcp", content=json.dumps(
        {"jsonrpc": "2.0", "id": {"nested": True}, "method": "tools/call",
         "params": {"name": "query_records", "arguments": {"table": "account"}}}))
    assert response.status_code == 400 and response.json()["error"]["code"] == -32600
    assert organization.stats.total == 0


async def test_json_that_is_not_a_json_rpc_request_gets_invalid_request_minus_32600(mcp):
    client, _ = mcp
    response = await client.post("/mcp", content=json.dumps({"foo": 1}))
    assert response.json()["error"]["code"] == -32600
