"""The MCP surface: `build_mcp_server(deps)` makes the server from the one list of tool groups below. Each group is a
module (or package) that declares its tools with `@group.tool(...)` (see kit/registry.py); adding a tool is one
decorated function in its group, adding a group is one line here."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from dataverse.tools.kit.context import ToolDeps, ToolRuntime
from dataverse.tools.kit.registry import ToolGroup, build_tools, install_extensions

SERVER_INSTRUCTIONS = (
    "Reads Microsoft Dataverse (Dynamics 365) data as the signed-in user: Dataverse security roles decide what is "
    "visible. Start with whoami or list_tables, use describe_table to learn columns, then query_records (OData) or "
    "fetchxml_query (joins, aggregates). Results leave out null columns; lookups are {table,id,name}, choices "
    "{value,label}, date-times ISO 8601 at the user's UTC offset (the user's wall time). When a result has more=true, "
    "call the same tool with only its cursor to continue."
)


def tool_groups() -> list[ToolGroup[Any]]:
    """Every tool group, in the order tools/list shows them."""
    from dataverse.tools import admin, catalog, delete, identity, query, reports, search, write

    return [identity.group, catalog.group, query.group, write.group, delete.group, reports.group, search.group,
            admin.group]


def build_mcp_server(deps: ToolDeps, **mcp_server_kwargs: Any) -> MCPServer:
    """An MCPServer with every tool the policy allows, backed by one ToolRuntime (cache, cursor key) for `deps`."""
    mcp_server_kwargs.setdefault("name", "dataverse")
    mcp_server_kwargs.setdefault("instructions", SERVER_INSTRUCTIONS)
    runtime = ToolRuntime(deps)
    groups = tool_groups()
    server = MCPServer(tools=build_tools(groups, runtime), **mcp_server_kwargs)
    install_extensions(groups, server, runtime)
    return server
