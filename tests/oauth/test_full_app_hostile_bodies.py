"""The full app (sandbox mode, in-process, every middleware as deployed) answers oversized and malformed bodies with
4xx, never 500: a deeply nested JSON body to /mcp (was a RecursionError), a 600 KB registration (was
RecordTooLargeError), and the landing page and the sandbox Entra index exist (were 404)."""

from __future__ import annotations

import pytest

from dataverse.sandbox.users import ALICE
from tests.e2e.harness import running_app

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}


def nested_call(depth: int) -> bytes:
    arguments = "[" * depth + "]" * depth
    return ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{"a":'
            + arguments + "}}}").encode()


@pytest.mark.parametrize("body", [nested_call(100_000), b"[" * 200_000 + b"]" * 200_000, b"{" * 300_000])
async def test_a_deeply_nested_mcp_body_is_a_parse_error_not_a_500(body):
    async with running_app() as e2e:
        bearer = await e2e.sign_in(ALICE)
        async with e2e.http() as http:
            response = await http.post("/mcp", content=body,
                                       headers={**MCP_HEADERS, "Authorization": f"Bearer {bearer}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


async def test_a_moderately_nested_mcp_body_still_reaches_the_tool():
    async with running_app() as e2e:
        bearer = await e2e.sign_in(ALICE)
        async with e2e.http() as http:
            response = await http.post("/mcp", content=nested_call(50),
                                       headers={**MCP_HEADERS, "Authorization": f"Bearer {bearer}"})
    assert response.status_code == 200 and response.json()["result"]["isError"] is True  # `a` is no parameter


async def test_a_600_kb_registration_is_413_through_the_whole_app():
    async with running_app() as e2e, e2e.http() as http:
        response = await http.post("/register", json={"redirect_uris": ["http://127.0.0.1:3000/cb"],
                                                      "client_name": "x" * 600_000})
    assert response.status_code == 413


@pytest.mark.parametrize("path, marker", [("/", 'id="mcp-url"'), ("/sandbox/entra/", 'id="users"')])
async def test_the_landing_page_and_the_sandbox_entra_index_are_pages(path, marker):
    async with running_app() as e2e, e2e.http() as http:
        response = await http.get(path)
    assert response.status_code == 200 and marker in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Sandbox mode." in response.text and 'name="viewport"' in response.text
    if path == "/":
        assert f"{e2e.settings.public_base_url}/mcp" in response.text and "Status: working." in response.text
