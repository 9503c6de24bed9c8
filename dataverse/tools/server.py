"""Builds the MCP server (mcp 2.x MCPServer) and registers the tools with their descriptions and annotations.

The lead passes auth settings and the token verifier through `mcp_server_kwargs` and builds the streamable HTTP app
from the returned server. With one configured Dataverse environment the tools have no `environment` parameter.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from dataverse.tools.admin_tools import register_admin_tools
from dataverse.tools.context import ToolDeps, ToolRuntime
from dataverse.tools.delete.group import register_delete_tools
from dataverse.tools.observed import ObservedMCPServer
from dataverse.tools.read_tools import ReadTools
from dataverse.tools.registration import without_parameter
from dataverse.tools.reports import register_report_tools
from dataverse.tools.search_tools import register_search_tools
from dataverse.tools.write_tools import register_write_tools

SERVER_INSTRUCTIONS = (
    "Reads Microsoft Dataverse (Dynamics 365) data as the signed-in user: Dataverse security roles decide what is "
    "visible. Start with whoami or list_tables, use describe_table to learn columns, then query_records (OData) or "
    "fetchxml_query (joins, aggregates). Results leave out null columns; lookups are {table,id,name}, choices "
    "{value,label}, date-times ISO 8601 at the user's UTC offset (the user's wall time). When a result has more=true, "
    "call the same tool with only its cursor to continue."
)

READ_TOOL_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "whoami": ("Who am I", "The signed-in Dataverse user: user id, name, email, business unit and time zone. Use "
               "the user id to filter on ownerid, or Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')."),
    "list_tables": ("List tables", "Tables in the Dataverse environment (logical name, display name, entity set). "
                    "Pass search to filter, e.g. 'opportun'."),
    "describe_table": ("Describe a table", "Columns of a table: type, whether required, whether settable on "
                       "create/update, choice values with labels, lookup targets with the name to filter on "
                       "(_x_value) and the navigation property to bind/expand. Call before querying a table "
                       "you have not used."),
    "refresh_schema": ("Refresh schema", "Forget cached table lists and table descriptions for the environment, "
                       "after someone added tables or columns."),
    "query_records": ("Query records", "Records of one table with an OData filter, sort and column list, a page at "
                      "a time (top rows per page). Returns rows, more and a cursor for the next page. Example: open "
                      "opportunities closing this month: table='opportunity', filter=\"statecode eq 0 and "
                      "Microsoft.Dynamics.CRM.ThisMonth(PropertyName='estimatedclosedate')\"."),
    "get_record": ("Get a record", "One record by table and id, with the columns asked for."),
    "fetchxml_query": ("FetchXML query", "Run a FetchXML query: joins across tables (link-entity), aggregates "
                       "(sum/avg/count with groupby) and relative-date or current-user operators. Pages through "
                       "results with a cursor."),
}


def register_read_tools(server: MCPServer, runtime: ToolRuntime) -> ReadTools:
    """Add the read tools to `server`; returns the bound tool object (tests may call it directly)."""
    tools = ReadTools(runtime)
    multi_environment = len(runtime.environments) > 1
    for name, (title, description) in READ_TOOL_DESCRIPTIONS.items():
        fn = getattr(tools, name)
        if not multi_environment:
            fn = without_parameter(fn, "environment")
        server.add_tool(
            fn,
            name=name,
            title=title,
            description=description,
            annotations=ToolAnnotations(
                title=title, readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
            ),
            structured_output=True,
        )
    return tools


def build_mcp_server(deps: ToolDeps, **mcp_server_kwargs: Any) -> MCPServer:
    """An MCPServer with every tool the policy allows, backed by one ToolRuntime (cache, cursor key) for `deps`."""
    mcp_server_kwargs.setdefault("name", "dataverse")
    mcp_server_kwargs.setdefault("instructions", SERVER_INSTRUCTIONS)
    server = ObservedMCPServer(**mcp_server_kwargs)
    runtime = ToolRuntime(deps)
    register_read_tools(server, runtime)
    register_write_tools(server, runtime)
    register_delete_tools(server, runtime)
    register_report_tools(server, runtime)
    register_search_tools(server, runtime)
    register_admin_tools(server, runtime)
    return server
