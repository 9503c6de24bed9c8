"""Seeing the customer, through the official MCP client against the full sandbox app: the timeline (with logging a
call), saved and personal views, change history, and a link on every record a model can cite. Outcomes are checked
in the sandbox's own data and row security."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB
from tests.e2e.harness import E2E, error_text, payload, readable, running_app

ENTITY_RECORD = re.compile(r"/main\.aspx\?pagetype=entityrecord&etn=(\w+)&id=([0-9a-f-]{36}|\{id\})$")


@pytest.fixture
async def e2e():
    async with running_app() as app:
        yield app


def alices(e2e: E2E, table: str) -> list[dict[str, Any]]:
    return [row for row in readable(e2e.organization, ALICE, table) if row["ownerid"].id == ALICE.systemuser_id]


def link_of(url: str, e2e: E2E) -> tuple[str, str]:
    assert url.startswith(e2e.runtime.dataverse_url), url
    match = ENTITY_RECORD.search(url)
    assert match, url
    return match.group(1), match.group(2)


async def test_a_logged_call_with_a_contact_comes_first_on_the_contacts_timeline(e2e: E2E):
    contact = alices(e2e, "contact")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        logged = payload(await session.call_tool("log_activity", {
            "kind": "phonecall", "table": "contact", "id": contact["contactid"], "subject": "Pricing",
            "text": "Called about pricing for the renewal."}))
        timeline = payload(await session.call_tool("get_timeline", {"table": "contact", "id": contact["contactid"]}))
    call = e2e.organization.get_row("phonecall", logged["id"])
    assert call["regardingobjectid"] == LookupValue("contact", contact["contactid"])
    assert call["statecode"] == 1 and call["description"] == "Called about pricing for the renewal."
    parties = {(row["participationtypemask"], row["partyid"].id) for row in e2e.organization.all_rows("activityparty")
               if row["activityid"].id == logged["id"]}
    assert parties == {(1, ALICE.systemuser_id), (2, contact["contactid"])}
    first = timeline["items"][0]
    assert first["id"] == logged["id"] and first["kind"] == "phonecall" and first["subject"] == "Pricing"
    assert first["who"]["id"] == ALICE.systemuser_id and "pricing" in first["body"]
    assert link_of(first["url"], e2e) == ("phonecall", logged["id"])


async def test_the_timeline_pages_with_the_cursor_without_repeating_or_skipping(e2e: E2E):
    account = max(alices(e2e, "account"), key=lambda row: sum(
        1 for activity in readable(e2e.organization, ALICE, "activitypointer")
        if activity.get("regardingobjectid") and activity["regardingobjectid"].id == row["accountid"]))
    arguments = {"table": "account", "id": account["accountid"], "related": True}
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        whole = payload(await session.call_tool("get_timeline", arguments | {"top": 100}))
        paged, page = [], payload(await session.call_tool("get_timeline", arguments | {"top": 2}))
        paged += page["items"]
        while page["more"]:
            page = payload(await session.call_tool("get_timeline", {"cursor": page["cursor"]}))
            paged += page["items"]
    assert len(whole["items"]) >= 4 and not whole["more"]
    assert [item["id"] for item in paged] == [item["id"] for item in whole["items"]]
    assert [item["when"] for item in paged] == sorted((item["when"] for item in paged), reverse=True)
    assert any(item.get("regarding") for item in whole["items"])  # a contact's or deal's item, brought in by related


async def test_the_timeline_filters_by_kind_and_date(e2e: E2E):
    account = alices(e2e, "account")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        notes = payload(await session.call_tool("get_timeline", {"table": "account", "id": account["accountid"],
                                                                 "kinds": ["note"], "related": True}))
        recent = payload(await session.call_tool("get_timeline", {"table": "account", "id": account["accountid"],
                                                                  "since": "2026-03-01", "related": True}))
    assert all(item["kind"] == "note" for item in notes["items"])
    assert all(item["when"] >= "2026-03-01" for item in recent["items"])


async def test_bob_sees_no_timeline_of_a_record_he_cannot_see(e2e: E2E):
    visible_to_bob = {row["accountid"] for row in readable(e2e.organization, BOB, "account")}
    hidden = next(row for row in alices(e2e, "account") if row["accountid"] not in visible_to_bob)
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        refused = await session.call_tool("get_timeline", {"table": "account", "id": hidden["accountid"]})
    assert "cannot see it" in error_text(refused)


async def test_a_personal_view_runs_for_its_owner_and_not_for_anyone_else(e2e: E2E):
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        views = payload(await session.call_tool("list_views", {"table": "lead"}))
        hot = payload(await session.call_tool("run_view", {"view": "Hot leads", "top": 500}))
    personal = next(view for view in views["views"] if view["name"] == "Hot leads")
    assert personal["kind"] == "personal"
    expected = {row["leadid"] for row in readable(e2e.organization, ALICE, "lead")
                if row.get("leadqualitycode") == 1 and row["statecode"] == 0}
    assert expected and {row["leadid"] for row in hot["rows"]} == expected
    assert hot["columns"] and set(hot["rows"][0]) <= {*hot["columns"], "leadid"}
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        by_id = await session.call_tool("run_view", {"view": personal["id"]})
        by_name = await session.call_tool("run_view", {"view": "Hot leads"})
    assert "No view you can use" in error_text(by_id) and "No view you can use" in error_text(by_name)


async def test_a_system_view_runs_as_the_caller_and_pages(e2e: E2E):
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        first = payload(await session.call_tool("run_view", {"view": "Open Opportunities", "top": 10}))
        rows, page = list(first["rows"]), first
        while page["more"]:
            page = payload(await session.call_tool("run_view", {"cursor": page["cursor"]}))
            rows += page["rows"]
    expected = {row["opportunityid"] for row in readable(e2e.organization, ALICE, "opportunity")
                if row["statecode"] == 0}
    assert len(first["rows"]) == 10 and [row["opportunityid"] for row in rows].count(rows[0]["opportunityid"]) == 1
    assert {row["opportunityid"] for row in rows} == expected


async def test_the_history_shows_who_changed_the_close_date_from_what_to_what(e2e: E2E):
    deal = alices(e2e, "opportunity")[0]
    old = deal["estimatedclosedate"].isoformat()
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        payload(await session.call_tool("update_record", {"table": "opportunity", "id": deal["opportunityid"],
                                                          "values": {"estimatedclosedate": "2026-05-29"}}))
        history = payload(await session.call_tool("get_record_history", {
            "table": "opportunity", "id": deal["opportunityid"], "column": "estimatedclosedate"}))
    latest = history["history"][0]
    assert history["auditing"] is True and latest["action"] == "Update"
    assert latest["changes"] == [{"column": "estimatedclosedate", "old": old, "new": "2026-05-29"}]
    assert latest["who"] == {"id": ALICE.systemuser_id, "name": ALICE.full_name}
    assert datetime.fromisoformat(latest["when"].replace("Z", "+00:00")).tzinfo == UTC
    assert link_of(history["url"], e2e) == ("opportunity", deal["opportunityid"])


async def test_with_auditing_off_the_history_says_so_and_how_to_turn_it_on(e2e: E2E):
    deal = alices(e2e, "opportunity")[0]
    e2e.organization.audit.enabled = False
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        history = payload(await session.call_tool("get_record_history", {"table": "opportunity",
                                                                         "id": deal["opportunityid"]}))
    assert history["auditing"] is False and "Audit settings" in history["note"]


async def test_bob_cannot_read_history_without_the_audit_privilege(e2e: E2E):
    shared = next(row for row in readable(e2e.organization, BOB, "account"))
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        refused = await session.call_tool("get_record_history", {"table": "account", "id": shared["accountid"]})
    assert "permission" in error_text(refused) and "prvReadRecordAuditHistory" in error_text(refused)


async def test_every_record_result_carries_a_link(e2e: E2E):
    deal = alices(e2e, "opportunity")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        record = payload(await session.call_tool("get_record", {"table": "opportunity", "id": deal["opportunityid"]}))
        rows = payload(await session.call_tool("query_records", {"table": "opportunity", "top": 3}))
        fetched = payload(await session.call_tool("fetchxml_query", {
            "fetchxml": "<fetch count='3'><entity name='account'><attribute name='name'/></entity></fetch>"}))
        view = payload(await session.call_tool("run_view", {"view": "Open Opportunities", "top": 3}))
        written = payload(await session.call_tool("update_record", {"table": "opportunity", "id": deal["opportunityid"],
                                                                    "values": {"description": "Linked"}}))
    assert link_of(record["url"], e2e) == ("opportunity", deal["opportunityid"])
    assert link_of(written["url"], e2e) == ("opportunity", deal["opportunityid"])
    for result, table in ((rows, "opportunity"), (fetched, "account"), (view, "opportunity")):
        assert link_of(result["link"], e2e) == (table, "{id}")
        assert "url" not in result["rows"][0]  # the template is given once, not per row


async def test_links_open_in_the_configured_app():
    async with running_app(model_driven_app_id="0f1e2d3c-0000-4000-8000-000000000001") as app:
        deal = alices(app, "opportunity")[0]
        async with app.session(await app.sign_in(ALICE)) as session:
            record = payload(await session.call_tool("get_record", {"table": "opportunity",
                                                                    "id": deal["opportunityid"]}))
    assert "main.aspx?appid=0f1e2d3c-0000-4000-8000-000000000001&pagetype=entityrecord&etn=opportunity" in \
        record["url"]


async def test_log_activity_resolves_attendees_and_reads_times_in_the_users_zone(e2e: E2E):
    account = alices(e2e, "account")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        meeting = payload(await session.call_tool("log_activity", {
            "kind": "appointment", "table": "account", "id": account["accountid"], "subject": "Quarterly review",
            "start": "2026-03-20T14:00", "end": "2026-03-20T15:00", "attendees": ["bob@sandbox.example"]}))
        note = payload(await session.call_tool("log_activity", {
            "kind": "note", "table": "account", "id": account["accountid"], "text": "<b>not html</b> & plain"}))
        unknown = await session.call_tool("log_activity", {
            "kind": "appointment", "table": "account", "id": account["accountid"], "subject": "X",
            "start": "2026-03-20T14:00", "end": "2026-03-20T15:00", "attendees": ["Nobody Atall"]})
    row = e2e.organization.get_row("appointment", meeting["id"])
    assert row["scheduledstart"] == datetime(2026, 3, 20, 18, 0, tzinfo=UTC)  # 14:00 in New York (EDT)
    roles = {(p["role"], p["id"]) for p in meeting["participants"]}
    assert roles == {("organizer", ALICE.systemuser_id), ("required", BOB.systemuser_id)}
    assert e2e.organization.get_row("annotation", note["id"])["notetext"] == "<b>not html</b> & plain"
    assert "Nobody Atall" in error_text(unknown)
