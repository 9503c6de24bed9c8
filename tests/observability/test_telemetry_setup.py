"""configure_telemetry: nothing heavy without a connection string; with one, traces and the audit log reach an
Application Insights ingestion endpoint (a loopback stand-in here) in the shape operators query. Each case runs in a
fresh interpreter, because OpenTelemetry's global providers can be installed only once per process."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: str, tmp_path: Path) -> dict:
    """Run `code` in a fresh interpreter from the repo root; it prints one JSON object as its last line."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
        "OTEL_TRACES_SAMPLER": "always_on",  # the distro's default rate-limited sampler could drop test spans
        "TMPDIR": str(tmp_path),  # the exporter's offline retry storage lives under the temp dir
    }
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=REPO_ROOT, env=env,
                               capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_without_a_connection_string_nothing_heavy_is_imported_and_spans_are_no_ops(tmp_path):
    result = run_python(
        """
        import json, logging, sys
        from dataverse.settings import Settings
        from dataverse import telemetry
        from dataverse.webapi.retry import RequestInfo
        telemetry.configure_telemetry(Settings(log_level="debug"))
        telemetry.record_dataverse_request(RequestInfo("GET", "/api/data/v9.2/WhoAmI", 200, "r", 0.1, 1))
        print(json.dumps({
            "azure_monitor_imported": any(name.startswith("azure.monitor") for name in sys.modules),
            "otel_sdk_imported": any(name.startswith("opentelemetry.sdk") for name in sys.modules),
            "exporting": telemetry.exporting_telemetry(),
            "app_level": logging.getLogger("dataverse").level,
            "audit_level": logging.getLogger("dataverse.audit").getEffectiveLevel(),
            "noisy_levels": {name: logging.getLogger(name).level for name in telemetry.NOISY_LOGGERS},
            "app_handlers": len(logging.getLogger("dataverse").handlers),
        }))
        """,
        tmp_path=tmp_path,
    )
    assert result["azure_monitor_imported"] is False
    assert result["otel_sdk_imported"] is False
    assert result["exporting"] is False
    assert result["app_level"] == 10  # DEBUG, from LOG_LEVEL
    assert result["audit_level"] == 20  # INFO
    assert set(result["noisy_levels"].values()) == {30}  # WARNING
    assert result["app_handlers"] == 0


class FakeIngestion(BaseHTTPRequestHandler):
    """Accepts Application Insights track calls (and live-metrics pings) and keeps every envelope."""

    envelopes: ClassVar[list[dict[str, Any]]] = []  # each fixture's subclass gets its own list

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path.startswith("/v2.1/track"):
            self.envelopes.extend(json.loads(body))
        answer = json.dumps({"itemsReceived": 1, "itemsAccepted": 1, "errors": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def ingestion() -> Iterator[tuple[str, list[dict]]]:
    envelopes: list[dict] = []
    handler = type("Ingestion", (FakeIngestion,), {"envelopes": envelopes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
    connection_string = (
        f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={endpoint};LiveEndpoint={endpoint}"
    )
    yield connection_string, envelopes
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


EXPORTING_PROGRAM = """
    import asyncio, json, logging, sys
    from mcp.server.auth.provider import AccessToken
    from opentelemetry import _logs, trace
    from dataverse.audit import AuditLog
    from dataverse.settings import Settings
    from dataverse import telemetry
    from dataverse.webapi.retry import RequestInfo

    settings = Settings(applicationinsights_connection_string=sys.argv[1])
    telemetry.configure_telemetry(settings)
    telemetry.configure_telemetry(settings)  # idempotent: no second handler, no second provider
    caller = AccessToken(token="mcp_at_SECRET-TOKEN-VALUE", client_id="client-1", scopes=["MCP.Access"],
                         subject="a11ce000-0000-4000-8000-000000000001", claims={"upn": "alice@sandbox.example"})

    async def tool_call():
        async with telemetry.tool_span("tools/call create_record", tool="create_record",
                                       environment="https://contoso.crm.dynamics.com", user_oid=caller.subject):
            async with AuditLog().audited("create_record", access_token=caller, table="account",
                                          environment="https://contoso.crm.dynamics.com"):
                telemetry.on_dataverse_response(RequestInfo(
                    "POST", "/api/data/v9.2/accounts", 204, "req-42", 0.05, 1,
                    {"x-ms-ratelimit-burst-remaining-xrm-requests": "5999"}),
                    environment_url="https://contoso.crm.dynamics.com")

    asyncio.run(tool_call())
    trace.get_tracer_provider().force_flush()
    _logs.get_logger_provider().force_flush()
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    print(json.dumps({
        "handlers": sum(isinstance(h, LoggingHandler) for h in logging.getLogger("dataverse").handlers),
        "exporting": telemetry.exporting_telemetry(),
        "httpx_instrumented": HTTPXClientInstrumentor().is_instrumented_by_opentelemetry,
    }))
"""


def test_with_a_connection_string_spans_and_audit_records_reach_application_insights(tmp_path, ingestion):
    connection_string, envelopes = ingestion
    result = run_python(EXPORTING_PROGRAM, connection_string, tmp_path=tmp_path)
    assert result == {"handlers": 1, "exporting": True, "httpx_instrumented": False}

    def data(envelope: dict) -> dict:
        return envelope["data"]["baseData"]

    dependencies = {data(e)["name"]: e for e in envelopes if e["name"].endswith(".RemoteDependency")}
    tool = dependencies["tools/call create_record"]
    request = dependencies["POST /api/data/v9.2/accounts"]
    assert data(request)["resultCode"] == "204"
    assert data(request)["properties"]["dataverse.request_id"] == "req-42"
    assert data(request)["properties"]["dataverse.x-ms-ratelimit-burst-remaining-xrm-requests"] == "5999"
    assert data(request)["properties"]["dataverse.path"] == "/api/data/v9.2/accounts"
    assert (data(request)["type"], data(request)["target"]) == ("HTTP", "contoso.crm.dynamics.com")
    assert request["tags"]["ai.operation.parentId"] == data(tool)["id"]
    assert tool["tags"]["ai.user.authUserId"] == "a11ce000-0000-4000-8000-000000000001"

    (audit,) = [e for e in envelopes if e["name"].endswith(".Message") and
                data(e).get("properties", {}).get("audit") == "true"]
    dimensions = data(audit)["properties"]
    # The keys the operations guide's Kusto query reads from traces.customDimensions:
    assert {key: dimensions[key] for key in ("upn", "tool", "table", "outcome", "environment")} == {
        "upn": "alice@sandbox.example", "tool": "create_record", "table": "account", "outcome": "ok",
        "environment": "https://contoso.crm.dynamics.com",
    }
    assert dimensions["dataverse_request_id"] == "req-42"
    assert json.loads(data(audit)["message"])["tool"] == "create_record"
    assert audit["tags"]["ai.operation.id"] == tool["tags"]["ai.operation.id"]  # the audit line joins its trace
    assert "SECRET-TOKEN-VALUE" not in json.dumps(envelopes)
