"""The predefined reports end to end, through the full sandbox-mode app with real sign-in and the official MCP client:
each report's answer for alice (a rep) and carol (the manager) equals a direct computation from the sandbox data under
its own row security, and the prompt, the resource and run_report all give the caller's own answer."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from mcp.types import TextContent

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB, CAROL, SandboxUser
from dataverse.tools.reports.catalog import REPORTS
from tests.e2e.harness import E2E, TODAY, error_text, payload, readable, running_app

REPORT_NAMES = {report.name for report in REPORTS}


@pytest.fixture
async def e2e():
    async with running_app() as running:
        yield running


def open_opportunities(e2e: E2E, user: SandboxUser) -> list[dict]:
    return [row for row in readable(e2e.organization, user, "opportunity") if row["statecode"] == 0]


def active_since(e2e: E2E, user: SandboxUser, days: int) -> set[str]:
    """Ids of records with an activity the user can see created in the last `days` days (from the start of that
    day in the user's own time zone, up to now)."""
    zone = ZoneInfo(user.iana_timezone)
    now = e2e.organization.now()
    first_day = now.astimezone(zone).date() - timedelta(days=days)
    start = datetime.combine(first_day, time(), zone)
    return {row["regardingobjectid"].id for row in readable(e2e.organization, user, "activitypointer")
            if row.get("regardingobjectid") and start <= row["createdon"] <= now}


async def run(e2e: E2E, user: SandboxUser, name: str) -> dict:
    async with e2e.session(await e2e.sign_in(user)) as session:
        return payload(await session.call_tool("run_report", {"name": name}))


@pytest.mark.parametrize("user", [ALICE, CAROL], ids=["alice", "carol"])
async def test_my_open_opportunities_are_exactly_the_callers_own_open_deals(e2e: E2E, user: SandboxUser):
    expected = {row["opportunityid"] for row in open_opportunities(e2e, user)
                if row["ownerid"].id == user.systemuser_id}
    result = await run(e2e, user, "my-open-opportunities")
    assert len(expected) >= 5
    assert {row["opportunityid"] for row in result["rows"]} == expected and result["more"] is False
    dates = [row["estimatedclosedate"] for row in result["rows"]]
    assert dates == sorted(dates)
    assert all(row["customerid"]["name"] and row["ownerid"]["id"] == user.systemuser_id for row in result["rows"])


@pytest.mark.parametrize("user", [ALICE, CAROL], ids=["alice", "carol"])
async def test_pipeline_by_stage_sums_and_counts_what_the_caller_can_see(e2e: E2E, user: SandboxUser):
    expected: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for row in open_opportunities(e2e, user):
        expected[row["stepname"]][0] += row["estimatedvalue"] or 0.0
        expected[row["stepname"]][1] += 1
    result = await run(e2e, user, "pipeline-by-stage")
    got = {row["stage"]: [row["total"], row["n"]] for row in result["rows"]}
    assert got == {stage: [pytest.approx(total), count] for stage, (total, count) in expected.items()}
    assert [row["stage"] for row in result["rows"]] == sorted(got, key=str.lower)


async def test_the_manager_sees_a_bigger_pipeline_than_a_rep(e2e: E2E):
    alice, carol = await run(e2e, ALICE, "pipeline-by-stage"), await run(e2e, CAROL, "pipeline-by-stage")
    assert sum(row["n"] for row in carol["rows"]) > sum(row["n"] for row in alice["rows"]) > 0


@pytest.mark.parametrize("user", [ALICE, CAROL], ids=["alice", "carol"])
async def test_accounts_without_recent_activity(e2e: E2E, user: SandboxUser):
    recent = active_since(e2e, user, 30)
    expected = {row["accountid"] for row in readable(e2e.organization, user, "account")
                if row["statecode"] == 0 and row["accountid"] not in recent}
    result = await run(e2e, user, "accounts-without-recent-activity")
    assert expected and {row["accountid"] for row in result["rows"]} == expected
    assert len(expected) < len(readable(e2e.organization, user, "account"))  # the filter really removed some


@pytest.mark.parametrize("user", [ALICE, CAROL], ids=["alice", "carol"])
async def test_closing_this_month(e2e: E2E, user: SandboxUser):
    expected = {row["opportunityid"] for row in open_opportunities(e2e, user)
                if (row["estimatedclosedate"].year, row["estimatedclosedate"].month) == (TODAY.year, TODAY.month)}
    result = await run(e2e, user, "closing-this-month")
    assert len(expected) >= 8 and {row["opportunityid"] for row in result["rows"]} == expected
    assert all(row["estimatedclosedate"].startswith(TODAY.strftime("%Y-%m")) for row in result["rows"])


@pytest.mark.parametrize("user", [ALICE, CAROL], ids=["alice", "carol"])
async def test_stale_opportunities_leave_out_deals_worked_on_recently(e2e: E2E, user: SandboxUser):
    org = e2e.organization
    seeded_recent = active_since(e2e, ALICE, 14)
    alices = [row for row in open_opportunities(e2e, ALICE)
              if row["ownerid"].id == ALICE.systemuser_id and row["opportunityid"] not in seeded_recent]
    worked, long_ago = alices[0], alices[1]  # two of her deals nobody she can see has touched in 14 days
    for opportunity, age in ((worked, timedelta(days=2)), (long_ago, timedelta(days=20))):
        org.put_row("task", {
            "activityid": str(uuid.uuid4()), "subject": "Follow up", "statecode": 0, "statuscode": 2,
            "regardingobjectid": LookupValue("opportunity", opportunity["opportunityid"]),
            "ownerid": LookupValue("systemuser", ALICE.systemuser_id), "createdon": org.now() - age,
            "modifiedon": org.now() - age,
        })
    recent = active_since(e2e, user, 14)
    expected = {row["opportunityid"] for row in open_opportunities(e2e, user) if row["opportunityid"] not in recent}
    result = await run(e2e, user, "stale-opportunities")
    ids = {row["opportunityid"] for row in result["rows"]}
    assert ids == expected
    assert worked["opportunityid"] not in ids and long_ago["opportunityid"] in ids


@pytest.mark.parametrize("user", [ALICE, CAROL], ids=["alice", "carol"])
async def test_team_pipeline_by_owner(e2e: E2E, user: SandboxUser):
    expected: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for row in open_opportunities(e2e, user):
        expected[row["ownerid"].id][0] += row["estimatedvalue"] or 0.0
        expected[row["ownerid"].id][1] += 1
    result = await run(e2e, user, "team-pipeline-by-owner")
    got = {row["owner"]["id"]: [row["total"], row["n"]] for row in result["rows"]}
    assert got == {owner: [pytest.approx(total), count] for owner, (total, count) in expected.items()}
    totals = [row["total"] for row in result["rows"]]
    assert totals == sorted(totals, reverse=True)
    assert all(row["owner"].get("name") for row in result["rows"])


async def test_prompts_and_resources_run_the_report_as_the_caller(e2e: E2E):
    expected = {user.username: {row["opportunityid"] for row in open_opportunities(e2e, user)
                                if row["ownerid"].id == user.systemuser_id} for user in (ALICE, BOB)}
    for user in (ALICE, BOB):
        async with e2e.session(await e2e.sign_in(user)) as session:
            prompts = {prompt.name for prompt in (await session.list_prompts()).prompts}
            resources = {str(resource.uri) for resource in (await session.list_resources()).resources}
            prompt = await session.get_prompt("my-open-opportunities")
            resource = await session.read_resource("report://my-open-opportunities")
        assert prompts >= REPORT_NAMES and {f"report://{name}" for name in REPORT_NAMES} <= resources
        message = prompt.messages[0]
        assert message.role == "user" and isinstance(message.content, TextContent)
        assert message.content.text.startswith("Summarise my open opportunities")
        prompt_data = json.loads(message.content.text.split("\n", 3)[-1])
        resource_data = json.loads(resource.contents[0].text)
        assert resource.contents[0].mime_type == "application/json"
        for data in (prompt_data, resource_data):
            assert {row["opportunityid"] for row in data["rows"]} == expected[user.username]
    assert expected["alice"].isdisjoint(expected["bob"])


async def test_run_report_lists_the_reports_and_refuses_an_unknown_name(e2e: E2E):
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        tool = next(t for t in (await session.list_tools()).tools if t.name == "run_report")
        unknown = await session.call_tool("run_report", {"name": "everyone's salaries"})
        snake = payload(await session.call_tool("run_report", {"name": "closing_this_month"}))
    assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
    assert set(tool.input_schema["properties"]["name"]["enum"]) == REPORT_NAMES
    assert "no report named" in error_text(unknown) and "my-open-opportunities" in error_text(unknown)
    assert snake["report"] == "closing-this-month"
