"""function_app.py in-process, as the Functions host would call it (Core Tools cannot be installed here): the function
index, and every trigger invoked through its registered function — the HTTP trigger (health, discovery, a full OAuth
sign-in, tool calls, and a delete proposal that starts the durable expiry through the durable client binding), the
expiry orchestrator (both episodes), the expiry activity and the sweeper timer over every expiring collection. And the
edge's shape: it reaches the package through `dataverse.app` alone, imports none of it until first use, and imports
and builds the app with the garbage collector paused."""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import time
import typing
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import function_app
from dataverse.app import jobs
from dataverse.oauth.models import COLLECTIONS
from dataverse.sandbox.runtime import create_sandbox_runtime
from dataverse.sandbox.users import ALICE
from dataverse.settings import Settings
from dataverse.storage.memory import MemoryStore
from dataverse.tools.confirm.proposals import PROPOSALS_COLLECTION, DeleteAction, ImpactSummary, Proposal
from tests.oauth.conftest import serve

ROOT = Path(__file__).resolve().parents[1]
ACTIVITY_NAME, ORCHESTRATOR_NAME, expiry_input = jobs.ACTIVITY_NAME, jobs.ORCHESTRATOR_NAME, jobs.expiry_input
BASE = "http://localhost:7071"
# The index is built once, as the host does (FunctionApp.get_functions() refuses to index twice).
FUNCTIONS = {fn.get_function_name(): fn for fn in function_app.app.get_functions()}
INVOCATION = SimpleNamespace(invocation_id="test-invocation", function_name="http", function_directory=".",
                             trace_context=None, retry_context=None, thread_local_storage=None)


def test_the_function_index_has_every_trigger():
    kinds = {name: fn.get_trigger().type for name, fn in FUNCTIONS.items()}
    assert kinds == {"http": "httpTrigger", ORCHESTRATOR_NAME: "orchestrationTrigger",
                     ACTIVITY_NAME: "activityTrigger", "sweep_expired_rows": "timerTrigger"}
    http = FUNCTIONS["http"]
    assert http.get_trigger().route == "{*route}"
    assert http.get_trigger().auth_level == func.AuthLevel.ANONYMOUS
    assert {str(method) for method in http.get_trigger().methods} >= {"GET", "POST", "DELETE", "OPTIONS"}
    assert "durableClient" in {binding.type for binding in http.get_bindings()}
    assert function_app.ORCHESTRATOR == ORCHESTRATOR_NAME and function_app.ACTIVITY == ACTIVITY_NAME


def test_every_function_has_the_annotations_the_python_worker_accepts():
    # The worker resolves each function's annotations (typing.get_type_hints) when it loads it, and wants classes.
    for name, function in FUNCTIONS.items():
        hints = typing.get_type_hints(function.get_user_function())
        assert hints and all(isinstance(hint, type) for hint in hints.values()), (name, hints)


class FunctionTransport(httpx.AsyncBaseTransport):
    """An httpx transport that turns each request into an azure.functions.HttpRequest and calls the trigger with a
    durable client binding, exactly as the host passes it (a JSON string)."""

    def __init__(self, durable_binding: str) -> None:
        self.calls = 0
        self._function = FUNCTIONS["http"].get_user_function()
        self._binding = durable_binding

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        url = str(request.url)
        func_request = func.HttpRequest(
            method=request.method, url=url, headers=dict(request.headers),
            params=dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)), body=await request.aread(),
        )
        response = await self._function(req=func_request, context=INVOCATION, client=self._binding)
        return httpx.Response(response.status_code, headers=dict(response.headers), content=response.get_body())


@pytest.fixture
def durable_host():
    """A stand-in for the Functions host's durable HTTP API on loopback: records orchestration starts."""
    started: list[dict] = []

    async def start(request: Request) -> JSONResponse:
        body = await request.json()  # the durable client sends the input JSON-encoded, as a JSON string
        payload = json.loads(body) if isinstance(body, str) else body
        started.append({"name": request.path_params["name"], "input": payload})
        return JSONResponse({"id": f"instance-{len(started)}"}, status_code=202)

    app = Starlette(routes=[Route("/runtime/webhooks/durabletask/orchestrators/{name}", start, methods=["POST"])])
    with serve(lambda base_url: app) as base_url:
        binding = json.dumps({"taskHubName": "TestHub", "creationUrls": {}, "managementUrls": {},
                              "rpcBaseUrl": f"{base_url}/runtime/webhooks/durabletask/"})
        yield SimpleNamespace(binding=binding, started=started)


@pytest.fixture
def runtime():
    store = MemoryStore()
    runtime = create_sandbox_runtime(Settings(public_base_url=BASE), store=store)
    runtime.deps.schedule_expiry = function_app.schedule_expiry_with_durable_timer  # as in Azure
    function_app.use_asgi_app(runtime.build_app(), store=store)
    yield runtime
    function_app.use_asgi_app(None)


def mcp_call(token: str, name: str, arguments: dict) -> dict:
    return {"headers": {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
                        "Content-Type": "application/json"},
            "json": {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": name, "arguments": arguments}}}


async def test_the_http_trigger_serves_sign_in_tools_and_starts_the_durable_expiry(runtime, durable_host):
    transport = FunctionTransport(durable_host.binding)
    lead = next(iter(row for row in runtime.organization.all_rows("lead") if row["ownerid"].id == ALICE.systemuser_id))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        health = await client.get("/health")
        metadata = await client.get("/.well-known/oauth-authorization-server")
        get_mcp = await client.get("/mcp")
        token = await runtime.sign_in(None, ALICE, client=client)  # register, authorize, consent, Entra, callback
        whoami = await client.post("/mcp", **mcp_call(token, "whoami", {}))
        proposal = await client.post("/mcp", **mcp_call(token, "delete_record",
                                                        {"table": "lead", "id": lead["leadid"]}))

    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert metadata.json()["issuer"] == BASE and metadata.json()["code_challenge_methods_supported"] == ["S256"]
    assert get_mcp.status_code == 405
    assert whoami.json()["result"]["structuredContent"]["user_id"] == ALICE.systemuser_id
    assert proposal.json()["result"]["isError"] is False, proposal.text
    assert transport.calls >= 8  # every hop of the sign-in went through the trigger
    [start] = durable_host.started  # the proposal started exactly one expiry orchestration
    assert start["name"] == ORCHESTRATOR_NAME
    assert set(start["input"]) == {"proposal_key", "expires_at"}
    assert start["input"]["expires_at"] == pytest.approx(time.time() + 120, abs=30)
    assert lead["leadid"] in {row["leadid"] for row in runtime.organization.all_rows("lead")}  # nothing deleted yet


async def test_a_request_without_a_bearer_gets_the_oauth_challenge_through_the_trigger(runtime, durable_host):
    async with httpx.AsyncClient(transport=FunctionTransport(durable_host.binding), base_url=BASE) as client:
        response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                     headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert f'resource_metadata="{BASE}/.well-known/oauth-protected-resource/mcp"' in challenge


def orchestration_context(payload: dict, *, timer_fired: bool) -> str:
    """The JSON the host hands the orchestrator: history for the first episode, or after the timer fired."""
    stamp = "2026-11-21T10:00:00.000Z"
    history = [
        {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": stamp},
        {"EventType": 0, "EventId": -1, "IsPlayed": False, "Timestamp": stamp, "Input": json.dumps(payload),
         "Name": ORCHESTRATOR_NAME, "Version": ""},
    ]
    if timer_fired:
        history += [
            {"EventType": 10, "EventId": 0, "IsPlayed": False, "Timestamp": stamp, "FireAt": "2030-03-17T17:46:40Z"},
            {"EventType": 13, "EventId": -1, "IsPlayed": False, "Timestamp": stamp},
            {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": stamp},
            {"EventType": 11, "EventId": -1, "IsPlayed": False, "Timestamp": stamp, "TimerId": 0,
             "FireAt": "2030-03-17T17:46:40Z"},
        ]
    return json.dumps({"history": history, "input": json.dumps(payload), "instanceId": "i1", "isReplaying": False,
                       "parentInstanceId": None, "upperSchemaVersion": 2})


def test_the_orchestrator_waits_for_the_deadline_then_calls_the_expiry_activity():
    orchestrate = FUNCTIONS[ORCHESTRATOR_NAME].get_user_function()
    payload = expiry_input("a" * 64, 1_900_000_000.0)  # 2030-03-17T17:46:40Z

    first = json.loads(orchestrate(orchestration_context(payload, timer_fired=False)))
    assert first["isDone"] is False
    [[timer]] = first["actions"]
    assert timer["actionType"] == 5 and timer["fireAt"].startswith("2030-03-17T17:46:40")

    second = json.loads(orchestrate(orchestration_context(payload, timer_fired=True)))
    activity = [action for group in second["actions"] for action in group if action["actionType"] == 0]
    assert activity and activity[0]["functionName"] == ACTIVITY_NAME
    assert json.loads(activity[0]["input"]) == payload


def pending_proposal(expires_at: float) -> dict:
    record_id = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    return Proposal(user_oid=ALICE.object_id, environment="https://example.crm.dynamics.com", table="lead",
                    created_at=expires_at - 120, expires_at=expires_at,
                    action=DeleteAction(entity_set="leads", primary_id="leadid", record_id=record_id, etag='W/"1"',
                                        impact=ImpactSummary(table="lead", id=record_id))).model_dump(mode="json")


async def test_the_activity_expires_a_due_proposal_and_the_sweeper_purges_every_expiring_collection():
    store = MemoryStore()
    function_app.use_asgi_app(None, store=store)
    try:
        proposals = store.collection(PROPOSALS_COLLECTION)
        await proposals.create("due", pending_proposal(time.time() - 1), ttl_seconds=600)
        await proposals.create("not-yet", pending_proposal(time.time() + 600), ttl_seconds=1200)
        activity = FUNCTIONS[ACTIVITY_NAME].get_user_function()
        assert await activity(payload=expiry_input("due", time.time() - 1)) is True
        assert await activity(payload=expiry_input("not-yet", time.time())) is False
        assert (await proposals.get("due")).value["status"] == "expired"
        assert (await proposals.get("not-yet")).value["status"] == "pending"

        assert set(jobs.EXPIRING_COLLECTIONS) == {*COLLECTIONS.values(), PROPOSALS_COLLECTION}
        for name in jobs.EXPIRING_COLLECTIONS:
            await store.collection(name).create("stale", {"x": 1}, ttl_seconds=-1)
            await store.collection(name).create("live", {"x": 2}, ttl_seconds=600)
        sweep = FUNCTIONS["sweep_expired_rows"].get_user_function()
        await sweep(timer=SimpleNamespace(past_due=False))
        for name in jobs.EXPIRING_COLLECTIONS:
            assert await store.collection(name).get("live") is not None, name
            assert await store.collection(name).list_expired(now=time.time() + 1) == [], name
    finally:
        function_app.use_asgi_app(None)


# --- the edge's shape -------------------------------------------------------------------------------------------------


def package_imports(source: str) -> set[str]:
    """Every module of the package (or relative import) that `source` imports, at any depth, TYPE_CHECKING included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return {name for name in found if name.split(".")[0] in ("dataverse", "")}


def test_function_app_reaches_the_package_only_through_dataverse_app():
    assert package_imports((ROOT / "function_app.py").read_text()) == {"dataverse.app"}
    assert package_imports("import dataverse.tools\nfrom . import x\nfrom dataverse import app") == {
        "dataverse.tools", ".", "dataverse"}  # the check sees every spelling


def run_python(code: str, **settings: str) -> str:
    """Run `code` in a fresh interpreter from the project root, with only these settings in its environment."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **settings}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_function_app_imports_nothing_of_the_package():
    code = "import sys, function_app; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dataverse'))"
    assert run_python(code).strip() == "[]"


def test_the_first_request_imports_and_builds_the_app_with_the_collector_paused_then_frozen():
    code = """
import gc, sys, function_app
collections = []
gc.callbacks.append(lambda phase, info: collections.append(phase))
function_app._build_asgi_app()
print(len(collections), gc.isenabled(), gc.get_freeze_count() > 0, "dataverse.app" in sys.modules)
"""
    printed = run_python(code, DATAVERSE_URLS="https://contoso.crm.dynamics.com", PUBLIC_BASE_URL="https://mcp.contoso.com",
                         ENTRA_TENANT_ID="00000000-0000-4000-8000-000000000001", ENTRA_CLIENT_ID="api-client-id",
                         ENTRA_CLIENT_SECRET="local-secret", TOKEN_ENCRYPTION_KEY=base64.b64encode(b"k" * 32).decode())
    assert printed.split() == ["0", "True", "True", "True"]  # no collection ran; collecting again; built; imported
