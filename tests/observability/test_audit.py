"""The audit log: one JSON line per audited call, with who/what/which record/outcome — and never tokens, field values,
filters or error messages, even when the call's arguments and Dataverse's answer contain them."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dataverse.audit import AUDIT_LOGGER_NAME, AuditEvent, AuditLog
from dataverse.sandbox.users import ALICE, CAROL
from dataverse.telemetry import on_dataverse_response
from dataverse.tools.kit.errors import dataverse_errors
from dataverse.webapi.retry import RequestInfo

from .conftest import ENVIRONMENT_URL

SECRET_NAME = "Project Nightingale Payroll"
FIXED_NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
EVENT_KEYS = [
    "event", "tool", "outcome", "user_oid", "upn", "client_id", "environment", "table", "record_id", "error_code",
    "latency_ms", "dataverse_request_id", "timestamp",
]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    logger = logging.getLogger(AUDIT_LOGGER_NAME)
    handler, previous_level = Captured(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous_level)


class SteppingTimer:
    """perf_counter stand-in: each reading is `step` seconds after the previous one."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 100.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def audit_log(lines) -> AuditLog:
    return AuditLog(sink=lines.append, now=lambda: FIXED_NOW, timer=SteppingTimer(0.0125))


def everything_logged(record: logging.LogRecord) -> str:
    return json.dumps({key: str(value) for key, value in vars(record).items()})


async def test_a_successful_write_is_one_event_with_caller_target_request_id_and_latency(
    audit_log, lines, captured, sandbox, access_token_for
):
    seen: list[RequestInfo] = []

    def hook(info: RequestInfo) -> None:
        seen.append(info)
        on_dataverse_response(info, environment_url=ENVIRONMENT_URL)

    client = sandbox.client_as(CAROL, on_response=hook)
    caller = access_token_for(CAROL)
    async with audit_log.audited("create_record", access_token=caller, environment=ENVIRONMENT_URL,
                                 table="account") as scope:
        new_id = await client.create("accounts", {"name": SECRET_NAME})
        scope.set_target(record_id=new_id)

    (line,) = lines
    event = json.loads(line)
    assert event == {
        "event": "tool_call", "tool": "create_record", "outcome": "ok", "user_oid": CAROL.object_id,
        "upn": CAROL.upn, "client_id": "chatgpt-connector-client", "environment": ENVIRONMENT_URL, "table": "account",
        "record_id": new_id.lower(), "error_code": None, "latency_ms": 12.5,
        "dataverse_request_id": seen[-1].request_id, "timestamp": "2026-03-12T09:30:00Z",
    }
    assert seen[-1].request_id
    assert SECRET_NAME not in line and caller.token not in line
    (record,) = captured.records
    assert record.getMessage() == line


async def test_a_denied_write_records_code_and_request_id_but_no_token_value_or_message(
    audit_log, lines, captured, sandbox, access_token_for
):
    client = sandbox.client_as(ALICE)  # a rep may not create teams: Dataverse answers 403 0x80040220
    caller = access_token_for(ALICE)
    arguments = {"table": "team", "fields": {"name": SECRET_NAME}, "note": f"Bearer {caller.token}"}
    with pytest.raises(Exception) as raised:
        async with audit_log.audited("create_record", access_token=caller, environment=ENVIRONMENT_URL,
                                     table=arguments["table"]):
            with dataverse_errors(table="team"):
                await client.create("teams", dict(arguments["fields"]))

    dataverse_error = raised.value.__cause__
    assert "prvCreate" in str(dataverse_error)  # Dataverse's message names the privilege and the user ...
    (line,) = lines
    event = json.loads(line)
    assert (event["outcome"], event["error_code"]) == ("denied", "0x80040220")
    assert event["dataverse_request_id"] == dataverse_error.request_id and event["dataverse_request_id"]
    (record,) = captured.records
    for written in (line, everything_logged(record)):  # ... but neither it nor any argument reaches the audit log
        assert caller.token not in written
        assert SECRET_NAME not in written
        assert "prvCreate" not in written and ALICE.systemuser_id not in written


async def test_the_log_record_carries_the_audit_marker_and_flattened_fields(audit_log, captured, access_token_for):
    async with audit_log.audited("update_record", access_token=access_token_for(ALICE), table="contact",
                                 record_id="7D716234-0B3F-EE11-BDF4-000D3A1B2C3D", environment=ENVIRONMENT_URL):
        pass
    (record,) = captured.records
    assert record.name == AUDIT_LOGGER_NAME and record.levelno == logging.INFO
    assert record.audit == "true"
    assert (record.upn, record.tool, record.table, record.outcome, record.environment) == (
        ALICE.upn, "update_record", "contact", "ok", ENVIRONMENT_URL
    )
    assert record.record_id == "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d"
    assert record.latency_ms == 12.5 and record.event == "tool_call"
    assert not hasattr(record, "error_code")  # unset fields are left out of the dimensions


def test_the_json_line_has_a_stable_shape(audit_log, lines):
    audit_log.emit(AuditEvent(event="proposal_expired", tool="delete_record", outcome="expired", timestamp=FIXED_NOW))
    (line,) = lines
    assert "\n" not in line
    assert list(json.loads(line)) == EVENT_KEYS
    assert line.startswith('{"event":"proposal_expired","tool":"delete_record","outcome":"expired","user_oid":null')


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("error_code", "Principal user is missing prvCreate privilege"),
        ("table", "account; $filter=name eq 'x'"),
        ("record_id", "accountnumber='A-1001'"),
        ("upn", "alice@sandbox.example {\"name\": \"x\"}"),
        ("dataverse_request_id", "id with spaces"),
        ("environment", "https://contoso.crm.dynamics.com/api?$filter=x"),
        ("outcome", "whatever"),
        ("event", "record_contents"),
    ],
)
def test_an_event_cannot_hold_free_text(field, value):
    base = {"event": "tool_call", "tool": "get_record", "outcome": "ok"}
    with pytest.raises(ValidationError):
        AuditEvent(**{**base, field: value})


def test_an_event_has_no_place_for_extra_data():
    with pytest.raises(ValidationError):
        AuditEvent(event="tool_call", tool="get_record", outcome="ok", fields={"name": SECRET_NAME})
    with pytest.raises(ValidationError):
        AuditEvent(event="tool_call", tool="get_record", outcome="ok", token="eyJhbGciOiJSUzI1NiJ9.e30.sig")
    event = AuditEvent(event="tool_call", tool="get_record", outcome="ok")
    with pytest.raises(ValidationError):
        event.upn = "someone@example.com"  # frozen


async def test_an_invalid_optional_value_is_dropped_and_the_event_still_written(audit_log, lines, caplog):
    with caplog.at_level(logging.WARNING, logger="dataverse.audit_diagnostics"):
        async with audit_log.audited("get_record", access_token=None, table=SECRET_NAME):
            pass
    event = json.loads(lines[0])
    assert event["table"] is None and event["outcome"] == "ok"
    assert "table" in caplog.text and SECRET_NAME not in caplog.text
    assert all(record.name != AUDIT_LOGGER_NAME for record in caplog.records)


async def test_an_exception_propagates_unchanged_and_is_recorded_once_by_class(audit_log, lines):
    failure = RuntimeError(SECRET_NAME)
    with pytest.raises(RuntimeError) as raised:
        async with audit_log.audited("search", access_token=None):
            raise failure
    assert raised.value is failure
    (line,) = lines
    assert (json.loads(line)["outcome"], json.loads(line)["error_code"]) == ("error", "RuntimeError")
    assert SECRET_NAME not in line


async def test_an_exception_may_name_its_outcome(audit_log, lines):
    class ConfirmationExpired(Exception):
        audit_outcome = "expired"

    with pytest.raises(ConfirmationExpired):
        async with audit_log.audited("confirm_delete", access_token=None, event="proposal_confirmed"):
            raise ConfirmationExpired()
    assert json.loads(lines[0])["outcome"] == "expired"
    assert json.loads(lines[0])["event"] == "proposal_confirmed"


async def test_a_call_can_report_a_refusal_it_returns_instead_of_raising(audit_log, lines):
    async with audit_log.audited("delete_record", access_token=None) as scope:
        scope.set_outcome("denied", error_code="DeleteDisabled")
    event = json.loads(lines[0])
    assert (event["outcome"], event["error_code"]) == ("denied", "DeleteDisabled")
    with pytest.raises(ValidationError):
        scope.set_outcome("maybe")
    with pytest.raises(AttributeError):
        scope.arguments = {"name": SECRET_NAME}  # the scope has fixed slots: nothing else can ride along


async def test_a_cancelled_call_is_recorded_as_cancelled(audit_log, lines):
    async def slow() -> None:
        async with audit_log.audited("query_records", access_token=None):
            await asyncio.Event().wait()

    task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert json.loads(lines[0])["outcome"] == "cancelled"


async def test_a_bad_tool_name_fails_before_the_work_and_writes_nothing(audit_log, lines):
    ran = False
    with pytest.raises(ValidationError):
        async with audit_log.audited("create record now", access_token=None):
            ran = True
    assert not ran and lines == []


async def test_request_ids_from_other_tasks_do_not_leak_into_this_event(audit_log, lines):
    async def call(tool: str, request_id: str) -> None:
        async with audit_log.audited(tool, access_token=None):
            await asyncio.sleep(0)
            on_dataverse_response(RequestInfo("GET", "/api/data/v9.2/accounts", 200, request_id, 0.01, 1))
            await asyncio.sleep(0)

    await asyncio.gather(call("first", "req-first"), call("second", "req-second"))
    ids = {json.loads(line)["tool"]: json.loads(line)["dataverse_request_id"] for line in lines}
    assert ids == {"first": "req-first", "second": "req-second"}


async def test_a_request_after_a_nested_call_ends_is_credited_to_the_outer_call(audit_log, lines):
    def respond(request_id: str) -> None:
        on_dataverse_response(RequestInfo("GET", "/api/data/v9.2/accounts", 200, request_id, 0.01, 1))

    async with audit_log.audited("outer", access_token=None):
        async with audit_log.audited("inner", access_token=None):
            respond("req-inner")
        respond("req-outer")
    ids = {json.loads(line)["tool"]: json.loads(line)["dataverse_request_id"] for line in lines}
    assert ids == {"inner": "req-inner", "outer": "req-outer"}


def test_a_failing_sink_does_not_fail_the_action(caplog, captured):
    def broken(line: str) -> None:
        raise OSError("disk full")

    log = AuditLog(sink=broken)
    with caplog.at_level(logging.ERROR):
        log.emit(AuditEvent(event="delete_failed", tool="delete_record", outcome="error"))
    (record,) = captured.records  # the audit logger still got the event, and nothing but the event
    assert record.audit == "true"
    assert "could not write an event to the audit sink" in caplog.text


def test_timestamps_are_utc_by_default():
    event = AuditEvent(event="tool_call", tool="whoami", outcome="ok")
    assert event.timestamp.tzinfo is not None and event.timestamp.utcoffset().total_seconds() == 0
    assert json.loads(event.to_json_line())["timestamp"].endswith("Z")
