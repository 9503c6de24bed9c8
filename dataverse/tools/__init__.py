"""The MCP surface: `build_mcp_server(deps)` makes the server from the one list of tool groups below. Each group is a
module (or package) that declares its tools with `@group.tool(...)` (see kit/registry.py); adding a tool is one
decorated function in its group, adding a group is one line here."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from dataverse import __version__
from dataverse.tools.apps import advertise_apps_on_initialize, apps_extension
from dataverse.tools.kit.context import ToolDeps, ToolRuntime
from dataverse.tools.kit.registry import ToolGroup, build_tools, install_extensions
from dataverse.tools.kit.server import DataverseMCPServer

SERVER_INSTRUCTIONS = """\
Works in Microsoft Dataverse (Dynamics 365) as the signed-in user: their security roles decide what they can see and \
change.
Reading: whoami says who "me" is. list_tables and describe_table give logical names, columns, choice values and the \
names lookups are filtered (_x_value) and expanded by; look a table up before querying it the first time. \
query_records takes OData: choices by value (salesstage eq 1), lookups as _customerid_value eq <guid>, dates as \
2026-01-31, relative dates and the current user as functions (Microsoft.Dynamics.CRM.ThisMonth(PropertyName='x'), \
LastXDays, NextXDays, EqualUserId). fetchxml_query does joins and aggregates; search finds records by name; \
run_report runs the predefined sales reports; list_views and run_view run the views users see in the \
app; get_timeline shows what happened with a record and get_record_history who changed what. Results leave out \
nulls; lookups are {table,id,name}, choices {value,label}, date-times ISO 8601 at the user's UTC offset. When \
more=true, call the same tool with only the cursor.
Writing: create_record and update_record take choice labels, lookup names and the user's local times. A create is \
never retried: if its outcome is unknown, query for the record before creating it again. Pass the etag you read to \
update only what you saw. log_activity records a call, task, appointment or note regarding a record.
Deleting takes two steps: delete_record shows the impact and gives a token; show it to the user, and only after they \
agree call confirm_delete with that token. Never confirm on the user's behalf.
"""


def tool_groups() -> list[ToolGroup[Any]]:
    """Every tool group, in the order tools/list shows them."""
    from dataverse.tools import (
        actions,
        activities,
        admin,
        bulk,
        catalog,
        deals,
        delete,
        history,
        identity,
        leads,
        ownership,
        query,
        relate,
        reports,
        search,
        state,
        timeline,
        views,
        write,
    )

    return [identity.group, catalog.group, query.group, views.group, timeline.group, history.group, write.group,
            activities.group, deals.group, leads.group, ownership.group, state.group, relate.group, bulk.group,
            actions.group, delete.group, reports.group, search.group, admin.group]


def build_mcp_server(deps: ToolDeps, **mcp_server_kwargs: Any) -> MCPServer:
    """An MCPServer with every tool the policy allows, backed by one ToolRuntime (cache, cursor key) for `deps`."""
    mcp_server_kwargs.setdefault("name", "dataverse")
    mcp_server_kwargs.setdefault("instructions", SERVER_INSTRUCTIONS)
    mcp_server_kwargs.setdefault("version", __version__)
    runtime = ToolRuntime(deps)
    groups = tool_groups()
    server = DataverseMCPServer(tools=build_tools(groups, runtime), audit=runtime.audit,
                                extensions=[apps_extension(runtime.environments)],
                                middleware=[advertise_apps_on_initialize], **mcp_server_kwargs)
    install_extensions(groups, server, runtime)
    return server
