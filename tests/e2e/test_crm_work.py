"""The CRM work through the official MCP client against the full sandbox app: closing deals, qualifying leads,
assigning, relating, changing many records with a confirmation, and Dataverse's actions. Outcomes are checked in the
sandbox's data and row security; bob is refused each of them on alice's records."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from dataverse.sandbox.dataverse.schema_sales import MANY_TO_MANY
from dataverse.sandbox.users import ALICE, BOB
from tests.e2e.harness import E2E, error_text, payload, readable, running_app

WON, LOST = 1, 2


@pytest.fixture
async def e2e():
    async with running_app() as app:
        yield app


def open_deals(e2e: E2E, user=ALICE) -> list[dict[str, Any]]:
    return [row for row in readable(e2e.organization, user, "opportunity")
            if row["ownerid"].id == user.systemuser_id and row["statecode"] == 0]


def row(e2e: E2E, table: str, record_id: str) -> dict[str, Any]:
    found = e2e.organization.get_row(table, record_id)
    assert found is not None, (table, record_id)
    return found


async def test_closing_the_largest_deal_as_won_moves_it_from_the_pipeline_to_the_won_figures(e2e: E2E):
    largest = max(open_deals(e2e), key=lambda deal: deal["estimatedvalue"] or 0)
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        closed = payload(await session.call_tool("close_opportunity", {
            "id": largest["opportunityid"], "outcome": "won", "close_date": "2026-03-12"}))
        pipeline = payload(await session.call_tool("run_report", {"name": "my-open-opportunities"}))
        won = payload(await session.call_tool("query_records", {
            "table": "opportunity", "filter": "statecode eq 'Won' and ownerid eq 'me'",
            "select": ["actualvalue", "actualclosedate"]}))
    stored = row(e2e, "opportunity", largest["opportunityid"])
    assert stored["statecode"] == WON and stored["statuscode"] == 3
    assert stored["actualvalue"] == largest["estimatedvalue"] and stored["actualclosedate"] == date(2026, 3, 12)
    assert largest["opportunityid"] not in {r["opportunityid"] for r in pipeline["rows"]}
    assert {"opportunityid": largest["opportunityid"], "actualvalue": largest["estimatedvalue"],
            "actualclosedate": "2026-03-12"} in won["rows"]
    closes = [r for r in e2e.organization.all_rows("opportunityclose")
              if r["opportunityid"].id == largest["opportunityid"]]
    assert len(closes) == 1 and closes[0]["actualrevenue"] == largest["estimatedvalue"]
    assert closed["opportunity"]["statecode"]["value"] == WON


async def test_closing_a_deal_as_lost_records_the_competitor(e2e: E2E):
    deal = open_deals(e2e)[1]
    competitor = e2e.organization.all_rows("competitor")[0]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        payload(await session.call_tool("close_opportunity", {
            "id": deal["opportunityid"], "outcome": "lost", "competitor": competitor["name"],
            "status_reason": "Out-Sold", "description": "Price"}))
        again = await session.call_tool("close_opportunity", {"id": deal["opportunityid"], "outcome": "won"})
        reopened = payload(await session.call_tool("reopen_opportunity", {"id": deal["opportunityid"]}))
    close = next(r for r in e2e.organization.all_rows("opportunityclose") if r["opportunityid"].id ==
                 deal["opportunityid"])
    assert close["competitorid"].id == competitor["competitorid"] and close["description"] == "Price"
    assert "already closed" in error_text(again)
    assert reopened["opportunity"]["statecode"]["value"] == 0


async def test_an_update_that_tries_to_close_a_deal_is_refused_with_the_way_that_works(e2e: E2E):
    deal = open_deals(e2e)[2]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        refused = await session.call_tool("update_record", {"table": "opportunity", "id": deal["opportunityid"],
                                                            "values": {"statecode": "Won"}})
    assert "close_opportunity" in error_text(refused)
    assert row(e2e, "opportunity", deal["opportunityid"])["statecode"] == 0


async def test_qualifying_a_lead_creates_an_account_a_contact_and_a_deal_linked_back(e2e: E2E):
    lead = next(r for r in readable(e2e.organization, ALICE, "lead")
                if r["ownerid"].id == ALICE.systemuser_id and r["statecode"] == 0 and r.get("companyname"))
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        result = payload(await session.call_tool("qualify_lead", {"id": lead["leadid"]}))
    created = {record["table"]: record["id"] for record in result["created"]}
    assert set(created) == {"account", "contact", "opportunity"}
    for table, record_id in created.items():
        assert row(e2e, table, record_id)["originatingleadid"].id == lead["leadid"]
    assert row(e2e, "lead", lead["leadid"])["statecode"] == 1


async def test_disqualifying_a_lead_takes_a_reason(e2e: E2E):
    lead = next(r for r in readable(e2e.organization, ALICE, "lead")
                if r["ownerid"].id == ALICE.systemuser_id and r["statecode"] == 0)
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        wrong = await session.call_tool("disqualify_lead", {"id": lead["leadid"], "reason": "Qualified"})
        payload(await session.call_tool("disqualify_lead", {"id": lead["leadid"], "reason": "No Longer Interested"}))
    stored = row(e2e, "lead", lead["leadid"])
    assert "not a reason to disqualify" in error_text(wrong)
    assert stored["statecode"] == 2 and stored["statuscode"] == 6


async def test_assigning_a_deal_to_bob_hands_over_who_can_see_it(e2e: E2E):
    deal = open_deals(e2e)[3]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        assigned = payload(await session.call_tool("assign_record", {"table": "opportunity",
                                                                     "id": deal["opportunityid"],
                                                                     "owner": BOB.full_name}))
    assert assigned["owner"]["id"] == BOB.systemuser_id and assigned["you_can_still_see_it"] is False
    assert deal["opportunityid"] not in {r["opportunityid"] for r in readable(e2e.organization, ALICE, "opportunity")}
    assert deal["opportunityid"] in {r["opportunityid"] for r in readable(e2e.organization, BOB, "opportunity")}


async def test_relating_and_unrelating_a_competitor_and_a_deal(e2e: E2E):
    deal = open_deals(e2e)[4]
    competitor = e2e.organization.all_rows("competitor")[1]
    arguments = {"table": "opportunity", "id": deal["opportunityid"],
                 "relationship": "opportunitycompetitors_association", "related_id": competitor["competitorid"]}
    relationship = next(rel for rel in MANY_TO_MANY if rel.schema_name == "opportunitycompetitors_association")

    def linked() -> list[str]:
        return e2e.organization.linked_ids(relationship, "opportunity", deal["opportunityid"])

    assert competitor["competitorid"] not in linked()
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        described = payload(await session.call_tool("describe_table", {"table": "opportunity"}))
        payload(await session.call_tool("associate_records", arguments))
        related = linked()
        payload(await session.call_tool("disassociate_records", arguments))
    assert any(entry["name"] == "opportunitycompetitors_association" for entry in described["many_to_many"])
    assert competitor["competitorid"] in related and competitor["competitorid"] not in linked()


async def test_a_bulk_update_of_25_deals_is_proposed_then_applied_exactly_once_under_racing_confirms(e2e: E2E):
    deals = open_deals(e2e)[:25]
    assert len(deals) == 25
    rows = [{"id": deal["opportunityid"], "values": {"estimatedclosedate": "2026-04-30"}} for deal in deals]
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        proposal = payload(await session.call_tool("bulk_update_records", {"table": "opportunity", "rows": rows}))
    assert proposal["status"] == "proposed" and proposal["count"] == 25 and len(proposal["sample"]) == 5
    assert proposal["sample"][0]["after"] == {"estimatedclosedate": "2026-04-30"}
    assert all(row(e2e, "opportunity", d["opportunityid"])["estimatedclosedate"] != date(2026, 4, 30) for d in deals)
    before = len(e2e.organization.audit.entries()) if hasattr(e2e.organization.audit, "entries") else None

    async def confirm() -> Any:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            return await session.call_tool("confirm_bulk_change",
                                            {"confirmation_token": proposal["confirmation_token"]})

    results = await asyncio.gather(*(confirm() for _ in range(16)))
    applied = [r for r in results if not r.is_error]
    assert len(applied) == 1 and payload(applied[0])["succeeded"] == 25
    assert all("already been used" in error_text(r) or "never issued" in error_text(r)
               for r in results if r.is_error)
    assert all(row(e2e, "opportunity", d["opportunityid"])["estimatedclosedate"] == date(2026, 4, 30) for d in deals)
    if before is not None:
        updates = [entry for entry in e2e.organization.audit.entries()[before:] if entry.action == 2]
        assert len(updates) == 25  # each deal changed once: no batch ran twice


async def test_a_change_set_with_one_bad_row_changes_nothing(e2e: E2E):
    deals = open_deals(e2e)[:3]
    rows = [{"id": d["opportunityid"], "values": {"description": "bulk"}} for d in deals[:2]]
    rows.append({"id": "00000000-0000-4000-8000-0000000000ff", "values": {"description": "bulk"}})
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        result = payload(await session.call_tool("bulk_update_records", {"table": "opportunity", "rows": rows}))
    assert result["status"] == "done" and result["succeeded"] == 0
    assert [r["outcome"] for r in result["results"]].count("succeeded") == 0
    assert all(row(e2e, "opportunity", d["opportunityid"]).get("description") != "bulk" for d in deals[:2])


async def test_bob_is_refused_each_change_on_alices_records(e2e: E2E):
    bob_sees = {r["opportunityid"] for r in readable(e2e.organization, BOB, "opportunity")}
    hidden = [d for d in open_deals(e2e) if d["opportunityid"] not in bob_sees]
    lead = next(r for r in readable(e2e.organization, ALICE, "lead") if r["ownerid"].id == ALICE.systemuser_id
                and r["statecode"] == 0 and r["leadid"] not in
                {x["leadid"] for x in readable(e2e.organization, BOB, "lead")})
    competitor = e2e.organization.all_rows("competitor")[0]
    calls = [
        ("close_opportunity", {"id": hidden[0]["opportunityid"], "outcome": "won"}),
        ("qualify_lead", {"id": lead["leadid"]}),
        ("assign_record", {"table": "opportunity", "id": hidden[1]["opportunityid"], "owner": "me"}),
        ("associate_records", {"table": "opportunity", "id": hidden[2]["opportunityid"],
                               "relationship": "opportunitycompetitors_association",
                               "related_id": competitor["competitorid"]}),
        ("bulk_update_records", {"table": "opportunity",
                                 "rows": [{"id": hidden[3]["opportunityid"], "values": {"description": "x"}}]}),
    ]
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
    for (name, _), result in zip(calls, results, strict=True):
        if name == "bulk_update_records":
            assert payload(result)["succeeded"] == 0, name
        else:
            assert result.is_error, name
    assert all(row(e2e, "opportunity", d["opportunityid"])["statecode"] == 0 for d in hidden[:4])
    assert row(e2e, "opportunity", hidden[1]["opportunityid"])["ownerid"].id == ALICE.systemuser_id
    assert row(e2e, "lead", lead["leadid"])["statecode"] == 0


async def test_read_only_mode_removes_every_crm_work_tool():
    async with running_app(access_mode="read_only") as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            names = {tool.name for tool in (await session.list_tools()).tools}
            with pytest.raises(MCPError):
                await session.call_tool("close_opportunity", {"id": "00000000-0000-4000-8000-000000000001",
                                                              "outcome": "won"})
    assert not names & {"close_opportunity", "reopen_opportunity", "qualify_lead", "disqualify_lead", "assign_record",
                        "set_record_state", "associate_records", "disassociate_records", "bulk_update_records",
                        "bulk_create_records", "confirm_bulk_change", "invoke_action"}


async def test_a_denied_table_is_refused_on_every_record_an_action_touches():
    async with running_app(table_denylist=["competitor"]) as e2e:
        deal = open_deals(e2e)[0]
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            refused = await session.call_tool("close_opportunity", {"id": deal["opportunityid"], "outcome": "lost",
                                                                     "competitor": "anyone"})
        assert "not available" in error_text(refused) and row(e2e, "opportunity", deal["opportunityid"])[
            "statecode"] == 0


async def test_invoke_action_runs_only_allowed_operations():
    async with running_app(action_allowlist=["RetrieveVersion", "WinOpportunity"]) as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            described = payload(await session.call_tool("describe_action", {"name": "WinOpportunity"}))
            version = payload(await session.call_tool("invoke_action", {"name": "RetrieveVersion"}))
            refused = await session.call_tool("invoke_action", {"name": "QualifyLead"})
    assert "RetrieveVersion" in tools["invoke_action"].description
    assert {p["name"] for p in described["parameters"]} == {"Status", "OpportunityClose"}
    assert version["result"]["Version"]
    assert "not an action this connector may run" in error_text(refused)
