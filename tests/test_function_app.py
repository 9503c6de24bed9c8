"""function_app.py in-process, as the Functions host would call it (Core Tools cannot be installed here): the function
index, and the HTTP trigger serving the app — health, discovery, a full OAuth sign-in and a tools/call — through
`azure.functions.HttpRequest` objects."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import httpx
import pytest

import function_app
from dataverse.sandbox.runtime import create_sandbox_runtime
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings

BASE = "http://localhost:7071"


# The index is built once, as the host does (FunctionApp.get_functions() refuses to index twice).
FUNCTIONS = {fn.get_function_name(): fn for fn in function_app.app.get_functions()}


def test_the_function_index_has_the_catch_all_anonymous_http_trigger():
    http = FUNCTIONS["http"]
    trigger = http.get_trigger()
    assert trigger.type == "httpTrigger"
    assert trigger.route == "{*route}"
    assert trigger.auth_level == func.AuthLevel.ANONYMOUS
    assert {str(method) for method in trigger.methods} >= {"GET", "POST", "DELETE", "OPTIONS"}
    assert json.loads(http.get_function_json())["bindings"][0]["route"] == "{*route}"


class FunctionTransport(httpx.AsyncBaseTransport):
    """An httpx transport that turns each request into an azure.functions.HttpRequest and calls the trigger."""

    def __init__(self) -> None:
        self.calls = 0
        self._function = FUNCTIONS["http"].get_user_function()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        url = str(request.url)
        func_request = func.HttpRequest(
            method=request.method,
            url=url,
            headers=dict(request.headers),
            params=dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)),
            body=await request.aread(),
        )
        context = SimpleNamespace(invocation_id="test", function_name="http", function_directory=".",
                                  trace_context=None, retry_context=None, thread_local_storage=None)
        response: func.HttpResponse = await self._function(func_request, context)
        return httpx.Response(response.status_code, headers=dict(response.headers), content=response.get_body())


@pytest.fixture
def runtime():
    runtime = create_sandbox_runtime(Settings(public_base_url=BASE))
    function_app.use_asgi_app(runtime.build_app())
    yield runtime
    function_app.use_asgi_app(None)


async def test_the_http_trigger_serves_health_discovery_sign_in_and_tool_calls(runtime):
    transport = FunctionTransport()
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        health = await client.get("/health")
        metadata = await client.get("/.well-known/oauth-authorization-server")
        get_mcp = await client.get("/mcp")
        token = await runtime.sign_in(None, ALICE, client=client)  # register, authorize, consent, Entra, callback
        call = await client.post("/mcp", headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}})

    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert metadata.json()["issuer"] == BASE and metadata.json()["code_challenge_methods_supported"] == ["S256"]
    assert get_mcp.status_code == 405
    assert call.status_code == 200
    assert call.json()["result"]["structuredContent"]["user_id"] == ALICE.systemuser_id
    assert transport.calls >= 8  # every hop of the sign-in went through the trigger


async def test_a_request_without_a_bearer_gets_the_oauth_challenge_through_the_trigger(runtime):
    async with httpx.AsyncClient(transport=FunctionTransport(), base_url=BASE) as client:
        response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                     headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 401
    assert f'resource_metadata="{BASE}/.well-known/oauth-protected-resource/mcp"' in response.headers["www-authenticate"]
