"""create_record and update_record end to end: the official MCP client -> the full sandbox-mode app (real OAuth
bearer) -> our write tools -> the real Dataverse client -> the sandbox Dataverse. Every outcome is checked in the
sandbox organisation itself, not only in the tool's answer."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mcp.shared.exceptions import MCPError

from dataverse.audit import AUDIT_LOGGER_NAME
from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB
from tests.e2e.harness import E2E, TODAY, error_text, payload, readable, running_app


@pytest.fixture
async def e2e() -> AsyncIterator[E2E]:
    async with running_app() as running:
        yield running


def owned_by(e2e: E2E, user, table: str) -> list[dict]:
    return [row for row in readable(e2e.organization, user, table) if row["ownerid"].id == user.systemuser_id]


def uniquely_named_account(e2e: E2E, user) -> dict:
    """An account `user` can see whose name no other visible account starts with (so a name lookup is unique)."""
    accounts = readable(e2e.organization, user, "account")
    for account in accounts:
        name = account["name"].casefold()
        if sum(other["name"].casefold().startswith(name) for other in accounts) == 1:
            return account
    raise AssertionError("the seed has no uniquely named account")


async def test_write_tools_are_listed_with_write_annotations(e2e: E2E):
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    create, update = tools["create_record"], tools["update_record"]
    assert create.annotations.read_only_hint is False and create.annotations.destructive_hint is False
    assert create.annotations.idempotent_hint is False
    assert update.annotations.read_only_hint is False and update.annotations.idempotent_hint is True
    assert set(update.input_schema["required"]) == {"table", "id", "values"}
    assert "environment" not in create.input_schema["properties"]


async def test_read_only_policy_registers_no_write_tools():
    async with running_app(access_mode="read_only") as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            names = {tool.name for tool in (await session.list_tools()).tools}
            with pytest.raises(MCPError) as refused:
                await session.call_tool("create_record", {"table": "account", "values": {"name": "X"}})
    assert "query_records" in names and not names & {"create_record", "update_record"}
    assert refused.value.error.code == -32602


async def test_the_meeting_tomorrow_at_two_owned_by_me_regarding_an_account_by_name(e2e: E2E):
    account = uniquely_named_account(e2e, ALICE)
    tomorrow = TODAY + timedelta(days=1)
    local_start = f"{tomorrow.isoformat()}T14:00:00"
    local_end = f"{tomorrow.isoformat()}T15:00:00"
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        me = payload(await session.call_tool("whoami", {}))
        described = payload(await session.call_tool("describe_table", {"table": "appointment"}))
        assert {"subject", "scheduledstart", "regardingobjectid"} <= {c["name"] for c in described["columns"]}
        result = payload(await session.call_tool("create_record", {"table": "appointment", "values": {
            "subject": "Q4 Review", "scheduledstart": local_start, "scheduledend": local_end,
            "ownerid": "me", "regardingobjectid": account["name"],
        }}))
    row = e2e.organization.get_row("appointment", result["id"])
    assert row is not None and row["subject"] == "Q4 Review"
    new_york = ZoneInfo(ALICE.iana_timezone)
    expected_start = datetime.fromisoformat(local_start).replace(tzinfo=new_york).astimezone(UTC)
    assert row["scheduledstart"] == expected_start
    assert row["scheduledstart"] == datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # EDT (-4): DST began on 8 March
    assert row["scheduledend"] - row["scheduledstart"] == timedelta(hours=1)
    assert row["ownerid"] == LookupValue("systemuser", me["user_id"]) == LookupValue("systemuser",
                                                                                    ALICE.systemuser_id)
    assert row["regardingobjectid"] == LookupValue("account", account["accountid"])
    assert result["name"] == "Q4 Review" and result["etag"]
    assert result["url"] == (f"{e2e.runtime.dataverse_url}/main.aspx?pagetype=entityrecord&etn=appointment"
                             f"&id={result['id']}")
    assert result["values"]["regardingobjectid"] == {"table": "account", "id": account["accountid"],
                                                     "name": account["name"]}
    assert result["values"]["scheduledstart"] == "2026-03-13T18:00:00Z"


async def test_update_a_contacts_job_title_by_id(e2e: E2E):
    contact = owned_by(e2e, ALICE, "contact")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        result = payload(await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"].upper(), "values": {"jobtitle": "CFO"}}))
    row = e2e.organization.get_row("contact", contact["contactid"])
    assert row["jobtitle"] == "CFO"
    assert result["id"] == contact["contactid"] and result["name"] == row["fullname"]
    assert result["etag"] == f'W/"{row["versionnumber"]}"'


async def test_a_stale_etag_is_refused_and_the_newer_change_survives(e2e: E2E):
    contact = owned_by(e2e, ALICE, "contact")[1]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        first = payload(await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"jobtitle": "Buyer"}}))
        second = payload(await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"jobtitle": "VP Sales"},
            "etag": first["etag"]}))
        stale = await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"jobtitle": "CEO"}, "etag": first["etag"]})
    assert "changed since you read it" in error_text(stale) and "get_record" in error_text(stale)
    row = e2e.organization.get_row("contact", contact["contactid"])
    assert row["jobtitle"] == "VP Sales" and second["etag"] == f'W/"{row["versionnumber"]}"'


async def test_unknown_and_read_only_columns_are_refused_before_anything_is_sent(e2e: E2E):
    contact = owned_by(e2e, ALICE, "contact")[0]
    before = dict(e2e.organization.get_row("contact", contact["contactid"]))
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        e2e.organization.stats.reset()
        unknown = await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"jobtitel": "CFO"}})
        read_only = await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"fullname": "Someone Else"}})
    assert "jobtitel" in error_text(unknown) and "did you mean jobtitle" in error_text(unknown)
    assert "'fullname'" in error_text(read_only) and "cannot be set" in error_text(read_only)
    assert e2e.organization.stats.count(method="PATCH") == 0
    assert e2e.organization.get_row("contact", contact["contactid"]) == before


async def test_choice_labels_resolve_and_an_ambiguous_label_lists_the_options(e2e: E2E):
    account = owned_by(e2e, ALICE, "account")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        ambiguous = await session.call_tool("update_record", {
            "table": "account", "id": account["accountid"], "values": {"industrycode": "con"}})
        chosen = payload(await session.call_tool("update_record", {
            "table": "account", "id": account["accountid"], "values": {"industrycode": "consulting"}}))
    text = error_text(ambiguous)
    assert "'Consulting' (7)" in text and "'Consumer Services' (8)" in text
    assert chosen["values"]["industrycode"] == {"value": 7, "label": "Consulting"}
    assert e2e.organization.get_row("account", account["accountid"])["industrycode"] == 7


async def test_an_ambiguous_lookup_name_lists_the_candidates_and_creates_nothing(e2e: E2E):
    contosos = [a for a in readable(e2e.organization, ALICE, "account") if a["name"].startswith("Contoso")]
    assert len(contosos) >= 2
    contacts_before = len(e2e.organization.all_rows("contact"))
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        result = await session.call_tool("create_record", {"table": "contact", "values": {
            "lastname": "Ambiguity", "parentcustomerid": {"table": "account", "name": "Contoso"}}})
    text = error_text(result)
    assert "matches more than one record" in text
    assert all(account["accountid"] in text for account in contosos[:10])
    assert len(e2e.organization.all_rows("contact")) == contacts_before


async def test_bob_cannot_update_alices_record(e2e: E2E):
    contact = owned_by(e2e, ALICE, "contact")[0]
    before = dict(e2e.organization.get_row("contact", contact["contactid"]))
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        result = await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"jobtitle": "Hijacked"}})
    assert f"No contact with id {contact['contactid']}" in error_text(result)
    assert e2e.organization.get_row("contact", contact["contactid"]) == before


async def test_update_of_a_missing_record_never_creates_it(e2e: E2E):
    missing = "0badc0de-0000-4000-8000-000000000000"
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        result = await session.call_tool("update_record", {
            "table": "contact", "id": missing, "values": {"lastname": "Ghost"}})
    assert "never creates" in error_text(result)
    assert e2e.organization.get_row("contact", missing) is None


async def test_a_create_whose_outcome_is_unknown_is_not_retried_and_says_how_to_check(e2e: E2E):
    bearer = await e2e.sign_in(ALICE)
    async with e2e.session(bearer) as session:
        await session.call_tool("describe_table", {"table": "account"})  # warm the metadata cache
        e2e.organization.stats.reset()
        e2e.organization.faults.update(server_error={"status": 502, "count": 1, "method": "POST"})
        result = await session.call_tool("create_record", {"table": "account", "values": {"name": "Unknown Co"}})
    text = error_text(result)
    assert "outcome is unknown" in text and "query_records" in text and "name eq 'Unknown Co'" in text
    assert e2e.organization.stats.count(method="POST") == 1


async def test_writes_are_audited_with_ids_and_outcomes_but_never_values(e2e: E2E, caplog: pytest.LogCaptureFixture):
    contact = owned_by(e2e, ALICE, "contact")[0]
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER_NAME)
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        created = payload(await session.call_tool("create_record", {"table": "account", "values": {
            "name": "Audited Secret Co"}}))
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        await session.call_tool("update_record", {
            "table": "contact", "id": contact["contactid"], "values": {"jobtitle": "Hijacked"}})
    lines = [record.getMessage() for record in caplog.records if record.name == AUDIT_LOGGER_NAME]
    events = [json.loads(line) for line in lines]
    create = next(e for e in events if e["tool"] == "create_record")
    update = next(e for e in events if e["tool"] == "update_record")
    assert create["outcome"] == "ok" and create["record_id"] == created["id"] and create["table"] == "account"
    assert create["user_oid"] == ALICE.object_id
    assert update["outcome"] == "error" and update["record_id"] == contact["contactid"]
    assert update["user_oid"] == BOB.object_id and update["error_code"] == "0x80040217"
    assert not [line for line in lines if "Secret" in line or "Hijacked" in line]
