"""Registration of the reports, search/fetch and admin tools: with several environments configured every tool that
calls Dataverse takes `environment` (and the report prompts take it as an argument); with one it does not."""

from __future__ import annotations

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from dataverse.settings import Settings
from dataverse.tools.admin_tools import register_admin_tools
from dataverse.tools.context import ToolDeps, ToolRuntime
from dataverse.tools.reports import register_report_tools
from dataverse.tools.search_tools import register_search_tools


async def no_token(*_: object) -> str:
    raise AssertionError("registration must not call Dataverse")


async def build(urls: list[str]) -> MCPServer:
    server = MCPServer(name="test")
    runtime = ToolRuntime(ToolDeps(settings=Settings(dataverse_urls=urls), http=httpx.AsyncClient(),
                                   dataverse_token=no_token))
    for register in (register_report_tools, register_search_tools, register_admin_tools):
        register(server, runtime)
    return server


@pytest.mark.parametrize("urls", [["https://a.crm.dynamics.com"],
                                  ["https://a.crm.dynamics.com", "https://b.crm.dynamics.com"]], ids=["one", "two"])
async def test_environment_parameter_follows_the_number_of_environments(urls: list[str]):
    server = await build(urls)
    tools = {tool.name: tool for tool in await server.list_tools()}
    prompts = {prompt.name: prompt for prompt in await server.list_prompts()}
    several = len(urls) > 1
    for name in ("run_report", "search", "fetch"):
        assert ("environment" in tools[name].input_schema["properties"]) is several, name
    for name in ("list_environments", "sign_out"):  # about the connection, not one environment
        assert "environment" not in tools[name].input_schema.get("properties", {})
    assert all(bool(prompt.arguments) is several for prompt in prompts.values())
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["fetch"].input_schema["required"] == ["id"]
