"""The registry makes every tool the same way: with several environments configured every tool that calls Dataverse
takes `environment` (and the report prompts take it as an argument), with one none does; every annotation hint is
stated; input schemas are closed; the policy decides which tools exist."""

from __future__ import annotations

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from dataverse.settings import Settings
from dataverse.storage.memory import MemoryStore
from dataverse.tools import build_mcp_server
from dataverse.tools.kit.context import ToolDeps

EVERY_TOOL = {"whoami", "list_tables", "describe_table", "refresh_schema", "query_records", "get_record",
              "fetchxml_query", "list_views", "run_view", "get_timeline", "get_record_history", "create_record",
              "update_record", "log_activity", "close_opportunity", "reopen_opportunity", "qualify_lead",
              "disqualify_lead", "assign_record", "set_record_state", "associate_records", "disassociate_records",
              "bulk_update_records", "bulk_create_records", "confirm_bulk_change", "delete_record", "confirm_delete",
              "run_report", "search", "fetch", "list_environments", "sign_out"}
WRITES = {"create_record", "update_record", "log_activity", "close_opportunity", "reopen_opportunity", "qualify_lead",
          "disqualify_lead", "assign_record", "set_record_state", "associate_records", "disassociate_records",
          "bulk_update_records", "bulk_create_records", "confirm_bulk_change"}
# about the connection or a token, not one environment
NOT_PER_ENVIRONMENT = {"list_environments", "sign_out", "confirm_delete", "confirm_bulk_change"}


async def no_token(*_: object) -> str:
    raise AssertionError("registration must not call Dataverse")


def build(urls: list[str], **settings: object) -> MCPServer:
    return build_mcp_server(ToolDeps(settings=Settings(dataverse_urls=urls, **settings), http=httpx.AsyncClient(),
                                     dataverse_token=no_token, store=MemoryStore()))


@pytest.mark.parametrize("urls", [["https://a.crm.dynamics.com"],
                                  ["https://a.crm.dynamics.com", "https://b.crm.dynamics.com"]], ids=["one", "two"])
async def test_environment_parameter_follows_the_number_of_environments(urls: list[str]):
    server = build(urls)
    tools = {tool.name: tool for tool in await server.list_tools()}
    prompts = {prompt.name: prompt for prompt in await server.list_prompts()}
    several = len(urls) > 1
    assert len(tools) == len(EVERY_TOOL)
    for name, tool in tools.items():
        takes_environment = "environment" in tool.input_schema.get("properties", {})
        assert takes_environment is (several and name not in NOT_PER_ENVIRONMENT), name
    assert prompts and all(bool(prompt.arguments) is several for prompt in prompts.values())
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["fetch"].input_schema["required"] == ["id"]


async def test_every_tool_states_every_hint_and_closes_its_input_schema():
    for tool in await build(["https://a.crm.dynamics.com"]).list_tools():
        hints = tool.annotations
        assert hints is not None and tool.title, tool.name
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint,
                            hints.open_world_hint), tool.name
        assert tool.input_schema.get("additionalProperties") is False, tool.name


@pytest.mark.parametrize(("settings", "absent"), [
    ({"access_mode": "read_only"}, {*WRITES, "delete_record", "confirm_delete"}),
    ({"allow_delete": False}, {"delete_record", "confirm_delete"}),
], ids=["read-only", "no-delete"])
async def test_the_policy_decides_which_tools_exist(settings: dict[str, object], absent: set[str]):
    everything = {tool.name for tool in await build(["https://a.crm.dynamics.com"]).list_tools()}
    offered = {tool.name for tool in await build(["https://a.crm.dynamics.com"], **settings).list_tools()}
    assert offered == everything - absent
    assert "sign_out" in offered  # ending one's own sign-in is not a data change
