"""Spans: one per tool call with its outcome, and one child CLIENT span per Dataverse HTTP attempt carrying the
request id, status and throttling headers — recorded through the real Dataverse client against the sandbox."""

from __future__ import annotations

import asyncio
import functools

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from dataverse.sandbox.users import ALICE, CAROL
from dataverse.telemetry import path_template, record_dataverse_request, redact_path, tool_span
from dataverse.tools.kit.errors import dataverse_errors
from dataverse.webapi import DataverseClient, RetryPolicy, create_http_client
from dataverse.webapi.retry import RequestInfo

SECRET_NAME = "Project Nightingale Payroll"


def by_kind(spans, kind):
    return [span for span in spans.get_finished_spans() if span.kind == kind]


def every_recorded_text(span) -> str:
    """Everything a span would export, as one string: name, attributes, events, status."""
    parts = [span.name, str(dict(span.attributes)), span.status.description or ""]
    parts += [f"{event.name} {dict(event.attributes)}" for event in span.events]
    return " ".join(parts)


async def test_a_tool_call_is_a_span_with_tool_environment_user_and_ok_outcome(spans):
    async with tool_span("tools/call query_records", tool="query_records",
                         environment="https://contoso.crm.dynamics.com", user_oid=ALICE.object_id):
        pass
    (span,) = spans.get_finished_spans()
    assert span.name == "tools/call query_records"
    assert span.attributes["gen_ai.tool.name"] == "query_records"
    assert span.attributes["mcp.method.name"] == "tools/call"
    assert span.attributes["dataverse.environment"] == "https://contoso.crm.dynamics.com"
    assert span.attributes["enduser.id"] == ALICE.object_id
    assert span.attributes["dataverse.outcome"] == "ok"
    assert span.status.status_code == StatusCode.UNSET


async def test_each_dataverse_attempt_is_a_child_span_with_its_request_id_status_and_attempt(spans, sandbox):
    seen: list[RequestInfo] = []

    def hook(info: RequestInfo) -> None:
        seen.append(info)
        record_dataverse_request(info)

    sandbox.organization.faults.update(throttle={"count": 1, "retry_after": 1})
    client = sandbox.client_as(CAROL, on_response=hook)
    async with tool_span("tools/call query_records", tool="query_records", environment=None, user_oid=None):
        await client.query("accounts", select=["name"], top=2)

    (parent,) = by_kind(spans, SpanKind.INTERNAL)
    children = sorted(by_kind(spans, SpanKind.CLIENT), key=lambda span: span.attributes["dataverse.attempt"])
    assert len(children) == len(seen) == 2
    for child, info in zip(children, seen, strict=True):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
        assert child.context.trace_id == parent.context.trace_id
        assert child.name == "GET /sandbox/dataverse/api/data/v9.2/accounts"
        assert child.attributes["http.request.method"] == "GET"
        assert child.attributes["url.path"] == "/sandbox/dataverse/api/data/v9.2/accounts"
        assert child.attributes["dataverse.request_id"] == info.request_id
        assert child.end_time - child.start_time == int(info.duration_seconds * 1e9)
    first, second = children
    assert (first.attributes["http.response.status_code"], first.attributes["dataverse.attempt"]) == (429, 1)
    assert first.status.status_code == StatusCode.ERROR and first.attributes["error.type"] == "429"
    assert (second.attributes["http.response.status_code"], second.attributes["dataverse.attempt"]) == (200, 2)
    assert second.status.status_code == StatusCode.UNSET and "error.type" not in second.attributes
    assert first.attributes["dataverse.request_id"] != second.attributes["dataverse.request_id"]


async def test_throttling_headers_become_attributes_of_the_request_span(spans):
    headers = {
        "x-ms-service-request-id": "5b1c7e0a-1111-4222-8333-944445555666",
        "x-ms-ratelimit-burst-remaining-xrm-requests": "5998",
        "x-ms-ratelimit-time-remaining-xrm-requests": "1,199,800.00",
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"value": []}, headers=headers))

    async def token() -> str:
        return "token"

    async with create_http_client(transport=transport) as http:
        hook = functools.partial(record_dataverse_request, environment_url="https://Contoso.crm.dynamics.com/")
        client = DataverseClient("https://contoso.crm.dynamics.com", token, http=http, retry=RetryPolicy(),
                                 on_response=hook)
        await client.query("contacts", filter="emailaddress1 eq 'someone@example.com'")

    (span,) = by_kind(spans, SpanKind.CLIENT)
    assert span.attributes["dataverse.x-ms-ratelimit-burst-remaining-xrm-requests"] == "5998"
    assert span.attributes["dataverse.x-ms-ratelimit-time-remaining-xrm-requests"] == "1,199,800.00"
    assert span.attributes["dataverse.request_id"] == "5b1c7e0a-1111-4222-8333-944445555666"
    assert span.attributes["url.full"] == "https://contoso.crm.dynamics.com/api/data/v9.2/contacts"
    assert span.attributes["server.address"] == "contoso.crm.dynamics.com"
    assert "someone@example.com" not in every_recorded_text(span)  # the query string never reaches a span


async def test_a_refused_call_marks_the_span_as_error_with_code_and_request_id_but_no_message(spans, sandbox):
    client = sandbox.client_as(ALICE, on_response=record_dataverse_request)  # a rep may not create teams
    with pytest.raises(Exception) as raised:
        async with tool_span("tools/call create_record", tool="create_record", environment=None, user_oid=None):
            with dataverse_errors(table="team"):
                await client.create("teams", {"name": SECRET_NAME})

    (span,) = by_kind(spans, SpanKind.INTERNAL)
    (request_span,) = by_kind(spans, SpanKind.CLIENT)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["dataverse.outcome"] == "denied"
    assert span.attributes["dataverse.error_code"] == "0x80040220"
    assert span.attributes["error.type"] == type(raised.value).__name__ == "DataverseRefusedError"
    assert span.attributes["dataverse.request_id"] == request_span.attributes["dataverse.request_id"]
    (event,) = span.events
    assert event.name == "exception" and event.attributes["exception.type"].endswith("DataverseRefusedError")
    assert "test_telemetry.py" in event.attributes["exception.stacktrace"]
    cause_message = str(raised.value.__cause__)
    assert "missing prvCreate" in cause_message  # the message exists and names the user ...
    for recorded in (every_recorded_text(span), every_recorded_text(request_span)):
        assert SECRET_NAME not in recorded and "prvCreate" not in recorded and ALICE.systemuser_id not in recorded


async def test_a_plain_exception_is_an_error_named_by_its_class(spans):
    with pytest.raises(KeyError):
        async with tool_span("tools/call get_record", tool="get_record", environment=None, user_oid=None):
            raise KeyError(SECRET_NAME)  # the stack frames show this source line, never the value
    (span,) = spans.get_finished_spans()
    assert span.attributes["dataverse.outcome"] == "error"
    assert span.attributes["dataverse.error_code"] == "KeyError"
    assert SECRET_NAME not in every_recorded_text(span)


async def test_a_cancelled_call_is_recorded_as_cancelled(spans):
    async def slow_tool() -> None:
        async with tool_span("tools/call search", tool="search", environment=None, user_oid=None):
            await asyncio.Event().wait()

    task = asyncio.create_task(slow_tool())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = spans.get_finished_spans()
    assert span.attributes["dataverse.outcome"] == "cancelled"


def test_a_request_that_got_no_response_is_an_error_span_without_status(spans):
    record_dataverse_request(RequestInfo(method="POST", path="/api/data/v9.2/accounts", status=None, request_id=None,
                                         duration_seconds=0.25, attempt=1, error="ReadTimeout"))
    (span,) = spans.get_finished_spans()
    assert span.kind == SpanKind.CLIENT and span.parent is None
    assert span.attributes["error.type"] == "ReadTimeout"
    assert "http.response.status_code" not in span.attributes and "dataverse.request_id" not in span.attributes
    assert span.status.status_code == StatusCode.ERROR
    assert span.end_time - span.start_time == 250_000_000


@pytest.mark.parametrize(
    ("path", "redacted", "template"),
    [
        ("/api/data/v9.2/accounts(7D716234-0B3F-EE11-BDF4-000D3A1B2C3D)",
         "/api/data/v9.2/accounts(7D716234-0B3F-EE11-BDF4-000D3A1B2C3D)", "/api/data/v9.2/accounts({id})"),
        ("/api/data/v9.2/contacts(emailaddress1='jo@example.com')", "/api/data/v9.2/contacts(…)",
         "/api/data/v9.2/contacts(…)"),
        ("/api/data/v9.2/EntityDefinitions(LogicalName='account')/Attributes",
         "/api/data/v9.2/EntityDefinitions(…)/Attributes", "/api/data/v9.2/EntityDefinitions(…)/Attributes"),
        ("/api/data/v9.2/WhoAmI", "/api/data/v9.2/WhoAmI", "/api/data/v9.2/WhoAmI"),
    ],
)
def test_key_values_in_paths_are_masked_and_span_names_are_templated(spans, path, redacted, template):
    assert redact_path(path) == redacted
    assert path_template(path) == template
    record_dataverse_request(RequestInfo(method="GET", path=path, status=200, request_id="r-1",
                                         duration_seconds=0.01, attempt=1))
    (span,) = spans.get_finished_spans()
    assert span.name == f"GET {template}" and span.attributes["url.path"] == redacted
    assert span.attributes["dataverse.path"] == redacted and span.attributes["url.full"] == template
