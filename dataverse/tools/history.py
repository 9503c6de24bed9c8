"""Who changed what and when: `get_record_history`, a record's change history from Dataverse auditing
(RetrieveRecordChangeHistory, joined to the audit log for who and when), old and new values shaped like every other
result (choices {value,label}, lookups {table,id,name}), newest first, paged with the cursor.

Auditing records nothing unless it is on for the environment and for the table. When it is off the answer says
which, and how an administrator turns it on, instead of an empty history that reads as "nobody changed anything"."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import Cursor, RecordId, TableName
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import resolve_columns
from dataverse.tools.schema.selection import columns_by_name
from dataverse.tools.values.links import record_url
from dataverse.tools.values.shaping import shape_value
from dataverse.webapi.models import ColumnChange, ColumnMetadata

TOOL = "get_record_history"
DEFAULT_PAGE = 25
MAX_PAGE = 100
TURN_ON = ("An administrator turns auditing on in the Power Platform admin center (Environments > the environment > "
           "Settings > Audit and logs > Audit settings: Start auditing), and for the table in its properties (Advanced "
           "options > Audit changes to its data). Changes made before that are not recorded.")

group: ToolGroup[None] = ToolGroup("history")


class ColumnChangeEntry(ResultModel):
    column: str
    old: Any = None
    new: Any = None


class ChangeEntry(ResultModel):
    when: str | None = None
    who: dict[str, Any] | None = None
    action: str | None = None
    changes: list[ColumnChangeEntry]


class HistoryResult(ResultModel):
    table: str
    id: str
    url: str
    auditing: bool = Field(description="False when auditing is off, so changes are not recorded.")
    note: str | None = None
    history: list[ChangeEntry]
    total: int | None = None
    more: bool
    cursor: str | None = None


@group.tool(title="Get a record's change history", annotations=READ_ONLY, alone=("cursor",), description=(
    "Who changed what and when on a record, from Dataverse auditing: old and new values, newest first."))
async def get_record_history(
    call: ToolCall,
    table: TableName | None = None,
    id: RecordId | None = None,
    column: Annotated[str | None, Field(description="Only changes to this column.")] = None,
    top: Annotated[int, Field(ge=1, le=MAX_PAGE, description="Changes per page.")] = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> HistoryResult:
    if cursor:
        state = call.resume(cursor, TOOL)
    else:
        if not table or not id:
            raise InvalidArgumentError("Pass `table` and `id` (the record whose history you want), or a `cursor`.")
        metadata = await resolve_columns(call, table)
        wanted = column.strip().lower() if column else None
        if wanted and wanted not in columns_by_name(metadata):
            raise InvalidArgumentError(f"{metadata.table.logical_name} has no column {column!r}; "
                                       f"describe_table({metadata.table.logical_name!r}) lists them.")
        state = {"table": metadata.table.logical_name, "set": metadata.table.entity_set,
                 "id": record_id_argument(id), "column": wanted, "top": top, "page": 1, "cookie": None}
    return await _page(call, state)


async def _page(call: ToolCall, state: dict[str, Any]) -> HistoryResult:
    metadata = await resolve_columns(call, state["table"])
    columns = columns_by_name(metadata)
    url = record_url(call, state["table"], state["id"])
    with dataverse_errors(table=state["table"], record_id=state["id"]):
        await call.client.retrieve(state["set"], state["id"], select=[metadata.table.primary_id])
        organization_on, table_on = await call.client.get_auditing(state["table"])
        page = await call.client.get_record_change_history(state["set"], state["id"], page=state["page"],
                                                           page_size=state["top"], paging_cookie=state["cookie"])
    entries = []
    for change in page.changes:
        kept = [entry for entry in (_column_change(item, columns) for item in change.changes)
                if state["column"] is None or entry.column == state["column"]]
        if state["column"] is not None and not kept:
            continue
        who = {"id": change.changed_by_id, "name": change.changed_by_name} if change.changed_by_id else None
        when = change.changed_on.strftime("%Y-%m-%dT%H:%M:%SZ") if change.changed_on else None
        entries.append(ChangeEntry(when=when, who=who, action=change.action_name, changes=kept))
    note = _note(organization_on, table_on, state["table"], attributed=page.attributed or not page.changes)
    next_cursor = None
    if page.more_records:
        next_state = state | {"page": state["page"] + 1, "cookie": page.paging_cookie}
        next_cursor = call.cursor_for(TOOL, next_state)
    return HistoryResult(table=state["table"], id=state["id"], url=url, auditing=organization_on and table_on,
                         note=note, history=entries, total=page.total_count, more=next_cursor is not None,
                         cursor=next_cursor)


def _column_change(change: ColumnChange, columns: dict[str, ColumnMetadata]) -> ColumnChangeEntry:
    column = columns.get(change.column)
    return ColumnChangeEntry(column=change.column, old=_shaped(change.column, change.old_value,
                                                               change.old_annotations, column),
                             new=_shaped(change.column, change.new_value, change.new_annotations, column))


def _shaped(name: str, value: Any, annotations: dict[str, Any], column: ColumnMetadata | None) -> Any:
    """A raw audited value, shaped as query results shape it (the annotations rebuilt into a one-column row)."""
    if value is None:
        return None
    wire = f"_{name}_value" if column is not None and column.type in ("Lookup", "Customer", "Owner") else name
    row = {wire: value, **{f"{wire}@{key}": note for key, note in annotations.items()}}
    return shape_value(row, wire, column)[1]


def _note(organization_on: bool, table_on: bool, table: str, *, attributed: bool) -> str | None:
    if not organization_on:
        return f"Auditing is off for this environment, so changes are not recorded. {TURN_ON}"
    if not table_on:
        return f"Auditing is off for the {table} table, so its changes are not recorded. {TURN_ON}"
    if not attributed:
        return ("Who made each change and when could not be read: that needs the privilege to read the audit "
                "summary (prvReadAuditSummary).")
    return None
