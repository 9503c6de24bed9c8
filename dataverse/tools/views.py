"""The answers users already see in the app: `list_views` (a table's system views and the user's personal views) and
`run_view` (one of them, by name or id, run as the user with the view's own columns, paged with the cursor).

System views are savedquery rows (querytype 0, active); personal views are userquery rows, which Dataverse shows only
to their owner and those they are shared with, so another user's personal view is simply not found. A view runs
through `GET <entity set>?savedQuery=|userQuery=`, so Dataverse applies its FetchXML and the caller's security."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, nearest_names
from dataverse.tools.kit.params import Cursor, TableName
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import list_tables, resolve_columns, resolve_table
from dataverse.tools.schema.selection import columns_by_name
from dataverse.tools.values.links import record_link_template
from dataverse.tools.values.shaping import shape_rows
from dataverse.webapi.errors import NotFoundError
from dataverse.webapi.odata import format_guid, quote_string

ViewKind = Literal["system", "personal"]
TOOL = "run_view"
DEFAULT_PAGE = 50
MAX_PAGE = 500
_CELL = re.compile(r"<cell\b[^>]*\bname=['\"]([A-Za-z0-9_.]+)['\"]")

group: ToolGroup[None] = ToolGroup("views")


class ViewEntry(ResultModel):
    id: str
    name: str
    kind: ViewKind
    default: bool | None = None
    description: str | None = None


class ViewListResult(ResultModel):
    table: str
    views: list[ViewEntry]


class ViewRowsResult(ResultModel):
    view: str
    table: str
    columns: list[str]
    rows: list[dict[str, Any]]
    link: str = Field(description="Opens a row: put its id in place of {id}.")
    more: bool
    cursor: str | None = None


@group.tool(title="List views", annotations=READ_ONLY,
            description="A table's system views and the signed-in user's personal views.")
async def list_views(call: ToolCall, table: TableName) -> ViewListResult:
    summary = await resolve_table(call, table)
    views = [*await _views(call, "system", f"returnedtypecode eq {quote_string(summary.logical_name)}"),
             *await _views(call, "personal", f"returnedtypecode eq {quote_string(summary.logical_name)}")]
    return ViewListResult(table=summary.logical_name, views=views)


@group.tool(title="Run a view", annotations=READ_ONLY, alone=("cursor",), description=(
    "Run a system or personal view, by name or id, as the signed-in user, with the view's columns."))
async def run_view(
    call: ToolCall,
    view: Annotated[str | None, Field(description="The view's name or id (list_views).")] = None,
    table: Annotated[str | None, Field(description="The view's table, to tell views of the same name apart.")] = None,
    top: Annotated[int, Field(ge=1, le=MAX_PAGE, description="Rows per page.")] = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> ViewRowsResult:
    if cursor:
        state = call.resume(cursor, TOOL)
    else:
        if not view or not view.strip():
            raise InvalidArgumentError("Pass `view`: a view's name or id from list_views.")
        state = await _find_view(call, view.strip(), table) | {"top": top, "page": 1, "cookie": None}
    return await _page(call, state)


async def _views(call: ToolCall, kind: ViewKind, condition: str) -> list[ViewEntry]:
    entity_set, key = ("savedqueries", "savedqueryid") if kind == "system" else ("userqueries", "userqueryid")
    select = [key, "name", "description", *(["isdefault"] if kind == "system" else [])]
    with dataverse_errors(table=entity_set):
        page = await call.client.query(entity_set, select=select, annotations=False, page_size=500,
                                       filter=f"{condition} and querytype eq 0 and statecode eq 0")
    return [ViewEntry(id=str(row[key]), name=str(row.get("name") or ""), kind=kind,
                      default=True if row.get("isdefault") else None, description=row.get("description") or None)
            for row in page.rows]


async def _find_view(call: ToolCall, view: str, table: str | None) -> dict[str, Any]:
    """The view a model means: by id (system first, then personal) or by name among the table's views."""
    condition = ""
    if table:
        condition = f"returnedtypecode eq {quote_string((await resolve_table(call, table)).logical_name)}"
    try:
        view_id = format_guid(view)
    except ValueError:
        view_id = None
    if view_id is not None:
        for kind, entity_set in (("system", "savedqueries"), ("personal", "userqueries")):
            with dataverse_errors(table=entity_set):
                try:
                    row = await call.client.retrieve(entity_set, view_id, select=["name", "returnedtypecode",
                                                                                 "layoutxml"], annotations=False)
                except NotFoundError:
                    continue  # not a view of this kind, or not one the caller may use
            return _state(kind, view_id, row)
        raise InvalidArgumentError(f"No view you can use has id {view_id}. list_views(table) shows the views.")
    named = f"name eq {quote_string(view)}" + (f" and {condition}" if condition else "")
    found = []
    for kind, entity_set, key in (("system", "savedqueries", "savedqueryid"), ("personal", "userqueries",
                                                                                 "userqueryid")):
        with dataverse_errors(table=entity_set):
            page = await call.client.query(entity_set, select=[key, "name", "returnedtypecode", "layoutxml"],
                                           filter=f"{named} and statecode eq 0", annotations=False, page_size=10)
        found += [_state(kind, str(row[key]), row) for row in page.rows]
    if len(found) == 1:
        return found[0]
    if found:
        listed = "; ".join(f"{v['name']} ({v['kind']}, {v['table']}, {v['id']})" for v in found)
        raise InvalidArgumentError(f"Several views are named {view!r}: {listed}. Pass the id, or `table`.")
    names = [v.name for v in await _views(call, "system", condition or "statecode eq 0")]
    names += [v.name for v in await _views(call, "personal", condition or "statecode eq 0")]
    close = nearest_names(view, names, limit=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise InvalidArgumentError(f"No view you can use is named {view!r}.{hint} list_views(table) shows them.")


def _state(kind: str, view_id: str, row: dict[str, Any]) -> dict[str, Any]:
    columns = _CELL.findall(str(row.get("layoutxml") or ""))
    return {"kind": kind, "id": view_id, "name": row.get("name"), "table": row.get("returnedtypecode"),
            "columns": columns}


async def _page(call: ToolCall, state: dict[str, Any]) -> ViewRowsResult:
    tables = {t.logical_name: t for t in await list_tables(call)}
    summary = tables.get(state["table"])
    if summary is None:
        raise InvalidArgumentError(f"The view's table {state['table']!r} is not available through this connector.")
    metadata = await resolve_columns(call, summary.logical_name)
    query = {"saved_query": state["id"]} if state["kind"] == "system" else {"user_query": state["id"]}
    with dataverse_errors(table=summary.logical_name):
        page = await call.client.run_view(summary.entity_set, page_size=state["top"], page=state["page"],
                                          paging_cookie=state["cookie"], **query)
    wanted = {*state["columns"], summary.primary_id}
    rows = [{key: value for key, value in row.items() if not state["columns"] or key in wanted}
            for row in shape_rows(page.rows, columns_by_name(metadata))]
    next_cursor = None
    if page.more_records:
        next_state = state | {"page": page.next_page or state["page"] + 1, "cookie": page.paging_cookie}
        next_cursor = call.cursor_for(TOOL, next_state)
    return ViewRowsResult(view=str(state["name"]), table=summary.logical_name, columns=state["columns"], rows=rows,
                          link=record_link_template(call, summary.logical_name), more=next_cursor is not None,
                          cursor=next_cursor)
