"""Every tool call, read or write, success or failure, leaves exactly one audit event with the caller, the target,
the outcome and the Dataverse request id, through the full app; the tool's signature is what the model sees."""

from __future__ import annotations

import json
import logging

import pytest

from dataverse.audit import AUDIT_LOGGER_NAME
from dataverse.sandbox.users import ALICE
from tests.e2e.harness import running_app


def audit_events(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == AUDIT_LOGGER_NAME]


async def test_each_tool_call_emits_one_audit_event_with_the_dataverse_request_id(caplog):
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER_NAME)
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            listed = {tool.name: tool for tool in (await session.list_tools()).tools}
            caplog.clear()
            await session.call_tool("query_records", {"table": "opportunity", "top": 2})
            await session.call_tool("get_record", {"table": "opportunity",
                                                   "id": "00000000-0000-4000-8000-000000000000"})
    events = [event for event in audit_events(caplog) if event["event"] == "tool_call"]
    assert [event["tool"] for event in events] == ["query_records", "get_record"]
    query, missing = events
    assert query["outcome"] == "ok" and query["table"] == "opportunity" and query["user_oid"] == ALICE.object_id
    assert query["upn"] == ALICE.upn and query["client_id"] and query["dataverse_request_id"]
    assert missing["outcome"] == "error" and missing["error_code"] == "0x80040217"
    assert missing["record_id"] == "00000000-0000-4000-8000-000000000000"
    assert set(listed["query_records"].input_schema["properties"]) >= {"table", "filter", "select", "top", "cursor"}
