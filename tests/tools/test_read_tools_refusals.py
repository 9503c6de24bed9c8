"""The read tools refuse, end to end and with a message the model can act on: bad tables, columns, ids, filters and
FetchXML; hostile strings (refused before any request reaches Dataverse); other users' cursors; unknown environments;
tables the administrator denied; throttling; and calls without a valid bearer."""

from __future__ import annotations

import pytest

from dataverse.sandbox.users import ALICE, BOB, CAROL
from dataverse.webapi.retry import RetryPolicy
from tests.tools.conftest import Harness, build_harness, error_text, payload, running


async def test_another_users_cursor_is_refused_through_the_tool(harness: Harness):
    async with harness.session(ALICE) as session:
        result = payload(await session.call_tool("query_records", {"table": "account", "top": 2}))
    assert result["more"] is True
    async with harness.session(BOB) as session:
        stolen = await session.call_tool("query_records", {"cursor": result["cursor"]})
        tampered = await session.call_tool("query_records", {"cursor": result["cursor"][:-3] + "AAA"})
    assert "different user" in error_text(stolen)
    assert "without `cursor`" in error_text(tampered)


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("query_records", {"table": "oportunity"}, "Did you mean: opportunity"),
        ("describe_table", {"table": "acount"}, "Did you mean: account"),
        ("query_records", {"table": "account", "select": ["nmae"]}, "Valid columns:"),
        ("get_record", {"table": "account", "id": "not-a-guid"}, "is not a record id"),
        ("get_record", {"table": "account", "id": "00000000-0000-4000-8000-0000000000ff"}, "No account with id"),
        ("query_records", {"table": "account", "filter": "bogus eq 1"}, "describe_table('account')"),
        ("query_records", {"table": "account", "filter": "name eq 'O'Bryan'"}, "double a quote"),
        ("fetchxml_query", {"fetchxml": "<fetch><entity name='account'>"}, "not well-formed"),
        ("fetchxml_query", {"fetchxml": '<!DOCTYPE f [<!ENTITY x "y">]><fetch><entity name="account"/></fetch>'},
         "DTD"),
        ("fetchxml_query", {"fetchxml": "<fetch><entity name='account'><attribute name='"
                            + "n" * 40_000 + "'/></entity></fetch>"}, "limit"),
        ("fetchxml_query", {"fetchxml": "<fetch><entity name='acount'/></fetch>"}, "Did you mean: account"),
        ("query_records", {}, "Pass `table`"),
    ],
)
async def test_bad_input_gets_a_fixable_message(harness: Harness, tool: str, arguments: dict, expected: str):
    async with harness.session(ALICE) as session:
        message = error_text(await session.call_tool(tool, arguments))
    assert expected in message


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("query_records", {"table": "account?$top=1"}),
        ("query_records", {"table": "accounts/../systemusers"}),
        ("query_records", {"table": "account", "filter": "name ne null&$select=*"}),
        ("query_records", {"table": "account", "filter": "name ne null#"}),
        ("query_records", {"table": "account", "expand": "primarycontactid&$top=5000"}),
        ("query_records", {"table": "account", "orderby": "name;drop"}),
        ("query_records", {"table": "account", "select": "name,revenue&$filter=true"}),
        ("get_record", {"table": "account", "id": "00000000-0000-4000-8000-000000000001)/../../systemusers("}),
        ("get_record", {"table": "systemuser/../account", "id": "00000000-0000-4000-8000-000000000001"}),
    ],
)
async def test_hostile_strings_never_reach_dataverse_as_paths_or_parameters(harness: Harness, tool: str,
                                                                            arguments: dict):
    async with harness.session(ALICE) as session:
        payload(await session.call_tool("list_tables", {}))  # warm the table cache
        payload(await session.call_tool("describe_table", {"table": "account"}))
        before = harness.organization.stats.total
        result = await session.call_tool(tool, arguments)
    assert result.is_error
    assert harness.organization.stats.total == before  # refused before anything was sent


async def test_throttling_tells_the_model_when_to_retry():
    async def no_sleep(_: float) -> None:
        return None

    built = build_harness(retry=RetryPolicy(budget_seconds=1, sleep=no_sleep))
    async with running(built):
        built.organization.faults.update(throttle={"count": 50, "retry_after": 30})
        async with built.session(ALICE) as session:
            message = error_text(await session.call_tool("whoami", {}))
    assert "throttled" in message and "retry after 30 s" in message


async def test_calls_without_a_valid_bearer_are_refused(harness: Harness):
    import httpx2

    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=harness.mcp_app),
                                  base_url="https://mcp.example.com") as client:
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
            response = await client.post("/mcp", headers=headers | {"Accept": "application/json, text/event-stream"},
                                         json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert response.status_code == 401


async def test_with_several_environments_tools_take_one_and_refuse_any_other_url():
    built = build_harness(settings_update={"dataverse_urls": [
        "https://sandbox.crm.example.com", "https://second.crm.example.com"]})
    async with running(built):
        async with built.session(ALICE) as session:
            tools = (await session.list_tools()).tools
            environment_free = {"list_environments", "sign_out", "confirm_delete"}  # not about one environment
            assert all("environment" in tool.input_schema["properties"]
                       for tool in tools if tool.name not in environment_free)
            assert {tool.name for tool in tools} >= {"query_records", "whoami", "fetchxml_query"}
            default = payload(await session.call_tool("whoami", {}))
            named = payload(await session.call_tool("whoami", {"environment": "https://sandbox.crm.example.com/"}))
            before = built.organization.stats.total
            elsewhere = await session.call_tool("query_records", {"table": "account",
                                                                  "environment": "https://attacker.example"})
    assert default["environment"] == named["environment"] == "https://sandbox.crm.example.com"
    message = error_text(elsewhere)
    assert "not a Dataverse environment this server is configured for" in message
    assert "https://second.crm.example.com" in message
    assert built.organization.stats.total == before


async def test_denied_tables_are_hidden_and_unreachable_even_through_fetchxml_joins():
    built = build_harness(settings_update={"table_denylist": ["contact"]})
    async with running(built):
        async with built.session(CAROL) as session:
            tables = payload(await session.call_tool("list_tables", {}))
            direct = await session.call_tool("query_records", {"table": "contact"})
            expanded = await session.call_tool("query_records", {
                "table": "account", "expand": "parentaccountid($select=name),primarycontactid($select=fullname)"})
            allowed = payload(await session.call_tool("query_records", {
                "table": "account", "expand": "parentaccountid($select=name)", "top": 1}))
            joined = await session.call_tool("fetchxml_query", {"fetchxml": (
                "<fetch><entity name='account'><attribute name='name'/><link-entity name='contact' "
                "from='contactid' to='primarycontactid' alias='c'><attribute name='emailaddress1'/></link-entity>"
                "</entity></fetch>")})
    assert "contact" not in {table["name"] for table in tables["tables"]} and tables["tables"]
    assert "not available through this connector" in error_text(direct)
    assert "'contact' is not available" in error_text(expanded)
    assert len(allowed["rows"]) == 1
    assert "not available through this connector" in error_text(joined)


async def test_a_tool_called_without_a_signed_in_user_refuses():
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError

    from dataverse.tools.kit.errors import NotSignedInError

    built = build_harness()
    with pytest.raises(ToolError, match="No signed-in user") as raised:
        await built.mcp_server.call_tool("whoami", {})
    assert isinstance(raised.value.__cause__, NotSignedInError)
    assert not isinstance(raised.value, UnexpectedToolError)  # reported to the model, not hidden as a crash
