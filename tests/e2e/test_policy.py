"""The administrator's policy, end to end through the full sandbox-mode app: ACCESS_MODE=read_only lists no tool that
changes data and refuses a call to one; ALLOW_DELETE=false removes only the delete tools; a denied table is unreachable
through every tool (reads, FetchXML joins, search, fetch, reports, writes, deletes), and the sandbox confirms that no
request for it ever reached Dataverse."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.types import ErrorData

from dataverse.sandbox.dataverse.search_routes import search_state
from dataverse.sandbox.users import ALICE, CAROL
from tests.e2e.harness import error_text, payload, readable, running_app, text_json

WRITE_TOOLS = {"create_record", "update_record", "delete_record", "confirm_delete"}
POLICY_REFUSAL = "not available through this connector"


async def unknown_tool_error(session: ClientSession, tool: str, arguments: dict[str, Any]) -> ErrorData:
    """The JSON-RPC error a call to a tool the server does not offer gets."""
    with pytest.raises(MCPError) as caught:
        await session.call_tool(tool, arguments)
    return caught.value.error


async def listed_tools(e2e) -> dict:
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        return {tool.name: tool for tool in (await session.list_tools()).tools}


async def test_read_only_lists_no_tool_that_changes_data_and_refuses_calls_to_them():
    async with running_app(access_mode="read_only") as e2e:
        tools = await listed_tools(e2e)
        before = len(e2e.organization.all_rows("account"))
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            refusals = [await unknown_tool_error(session, "create_record", {"table": "account",
                                                                            "values": {"name": "Sneaky"}}),
                        await unknown_tool_error(session, "delete_record", {
                            "table": "account", "id": readable(e2e.organization, ALICE, "account")[0]["accountid"]})]
        assert len(e2e.organization.all_rows("account")) == before
    assert WRITE_TOOLS.isdisjoint(tools)
    assert {"query_records", "search", "fetch", "run_report", "list_environments"} <= set(tools)
    changing = {name for name, tool in tools.items() if tool.annotations.read_only_hint is not True}
    assert changing == {"sign_out"}  # ends the caller's own sign-in; changes no Dataverse data
    for refused in refusals:
        assert refused.code == -32602 and "unknown tool" in refused.message.lower()


async def test_read_write_without_delete_keeps_writes_and_drops_only_the_delete_tools():
    async with running_app(allow_delete=False) as e2e:
        tools = await listed_tools(e2e)
    assert {"create_record", "update_record"} <= set(tools)
    assert not {"delete_record", "confirm_delete"} & set(tools)


async def test_the_default_policy_lists_the_write_tools_and_reaches_every_table():
    async with running_app() as e2e:
        tools = await listed_tools(e2e)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            payload(await session.call_tool("query_records", {"table": "account", "top": 1}))
        assert account_requests(e2e) >= 1  # the counter the denial tests rely on does see account requests
    assert set(tools) >= WRITE_TOOLS
    assert all(tools[name].annotations.read_only_hint is False for name in WRITE_TOOLS)


@pytest.fixture
async def no_accounts():
    async with running_app(table_denylist=["account"]) as e2e:
        e2e.organization.stats.reset()
        yield e2e


def account_requests(e2e) -> int:
    return e2e.organization.stats.count(path_prefix="/api/data/v9.2/accounts")


async def test_a_denied_table_is_unreachable_through_the_read_tools(no_accounts):
    e2e = no_accounts
    account = readable(e2e.organization, ALICE, "account")[0]
    calls = {
        "query_records": {"table": "account"},
        "get_record": {"table": "account", "id": account["accountid"]},
        "fetchxml_query": {"fetchxml": "<fetch><entity name='account'><attribute name='name'/></entity></fetch>"},
    }
    joined = ("<fetch><entity name='opportunity'><attribute name='name'/><link-entity name='account' "
              "from='accountid' to='parentaccountid' alias='a'><attribute name='revenue'/></link-entity>"
              "</entity></fetch>")
    async with e2e.session(await e2e.sign_in(CAROL)) as session:
        refusals = {name: await session.call_tool(name, arguments) for name, arguments in calls.items()}
        refusals["fetchxml_query (link-entity)"] = await session.call_tool("fetchxml_query", {"fetchxml": joined})
        refusals["fetch"] = await session.call_tool("fetch", {"id": f"account:{account['accountid']}"})
        refusals["run_report"] = await session.call_tool("run_report", {"name": "accounts-without-recent-activity"})
        allowed = payload(await session.call_tool("query_records", {"table": "opportunity", "top": 1}))
    for name, result in refusals.items():
        message = error_text(result)
        assert POLICY_REFUSAL in message or "no report named" in message, (name, message)
    assert allowed["rows"]
    assert account_requests(e2e) == 0


@pytest.mark.parametrize("dataverse_search", [True, False], ids=["dataverse-search", "name-fallback"])
async def test_search_never_returns_a_denied_table(no_accounts, dataverse_search: bool):
    e2e = no_accounts
    search_state(e2e.organization).enabled = dataverse_search
    async with e2e.session(await e2e.sign_in(CAROL)) as session:
        results = text_json(await session.call_tool("search", {"query": "Litware"}))["results"]
    tables = {result["id"].split(":")[0] for result in results}
    assert tables and "account" not in tables
    assert "opportunity" in tables  # "Litware - Licences" etc.: search itself still works
    assert account_requests(e2e) == 0


async def test_reports_that_read_a_denied_table_are_not_offered():
    async with running_app(table_denylist=["activitypointer"]) as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            prompts = {prompt.name for prompt in (await session.list_prompts()).prompts}
            resources = {str(resource.uri) for resource in (await session.list_resources()).resources}
            refused = await session.call_tool("run_report", {"name": "stale-opportunities"})
            allowed = payload(await session.call_tool("run_report", {"name": "my-open-opportunities"}))
    hidden = {"accounts-without-recent-activity", "stale-opportunities"}
    assert hidden.isdisjoint(prompts) and "my-open-opportunities" in prompts
    assert not {f"report://{name}" for name in hidden} & resources
    assert "no report named" in error_text(refused) and allowed["rows"]


async def test_a_denied_table_is_unreachable_through_the_write_and_delete_tools(no_accounts):
    e2e = no_accounts
    account = readable(e2e.organization, CAROL, "account")[0]
    before = {row["accountid"]: dict(row) for row in e2e.organization.all_rows("account")}
    async with e2e.session(await e2e.sign_in(CAROL)) as session:
        results = [
            await session.call_tool("create_record", {"table": "account", "values": {"name": "Blocked"}}),
            await session.call_tool("update_record", {"table": "account", "id": account["accountid"],
                                                      "values": {"name": "Renamed"}}),
            await session.call_tool("delete_record", {"table": "account", "id": account["accountid"]}),
        ]
    for result in results:
        assert POLICY_REFUSAL in error_text(result)
    after = {row["accountid"]: dict(row) for row in e2e.organization.all_rows("account")}
    assert after == before and account_requests(e2e) == 0
