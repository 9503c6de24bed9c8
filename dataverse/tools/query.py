"""Reading records: `query_records` (OData), `get_record` (one by id) and `fetchxml_query` (joins, aggregates).

Tables, columns and ids are checked against metadata before anything is sent, every call acts as the signed-in user,
and paging continues through signed cursors only (kit/cursor.py)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dataverse.tools.apps import CARD_URI, GRID_URI
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.cursor import FetchXmlCursor, ODataCursor, wrong_tool_error
from dataverse.tools.kit.errors import (
    InvalidArgumentError,
    InvalidFetchXmlQueryError,
    dataverse_errors,
    record_id_argument,
)
from dataverse.tools.kit.params import Columns, Cursor, RecordId, TableName
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.fetchxml_names import check_fetchxml_tables, diagnose_columns
from dataverse.tools.schema.lookup import enforce_expand_policy, get_table, resolve_columns
from dataverse.tools.schema.navigation import expand_errors
from dataverse.tools.schema.selection import columns_by_name, is_business_column, resolve_selection
from dataverse.tools.values.filters import filter_context, needs_metadata, translate_filter
from dataverse.tools.values.links import record_link_template, record_url
from dataverse.tools.values.shaping import shape_row, shape_rows
from dataverse.webapi.errors import BadRequestError
from dataverse.webapi.fetchxml import entity_name, validate_fetch_xml, with_paging

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

group: ToolGroup[None] = ToolGroup("query")


class RowsResult(ResultModel):
    table: str
    rows: list[dict[str, Any]] = Field(
        description="Records; null columns are left out, lookups are {table,id,name}, choices {value,label}, "
                    "date-times ISO 8601 at the user's UTC offset."
    )
    count: int | None = Field(None, description="Total matching records (when count was requested; capped at 5000).")
    more: bool = Field(description="True when there is another page: call again with `cursor`.")
    cursor: str | None = Field(None, description="Pass alone to the same tool to get the next page.")
    translated: list[str] | None = Field(None, description="Comparisons the filter was rewritten into, exactly.")
    link: str | None = Field(None, description="Opens a row: put its id in place of {id}.")


class RecordResult(ResultModel):
    table: str
    record: dict[str, Any]
    url: str


@group.tool(title="Query records", annotations=READ_ONLY, alone=("cursor",), widget=GRID_URI, description=(
    "Rows of one table by OData filter, columns, order and expand, a page at a time; more=true comes with a "
    "cursor."))
async def query_records(
    call: ToolCall,
    table: Annotated[str | None, Field(description="Table logical name, e.g. 'opportunity'.")] = None,
    select: Columns = None,
    filter: Annotated[str | None, Field(description=(
        "OData $filter, e.g. \"statecode eq 0 and Microsoft.Dynamics.CRM.ThisMonth(PropertyName='estimatedclosedate')"
        "\"."))] = None,
    orderby: Annotated[str | None, Field(description="e.g. 'estimatedclosedate asc,name'.")] = None,
    top: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")] = DEFAULT_PAGE_SIZE,
    expand: Annotated[str | None, Field(description="e.g. 'parentaccountid($select=name)'.")] = None,
    count: Annotated[bool, Field(description="Also count all matches.")] = False,
    cursor: Cursor = None,
) -> RowsResult:
    translated: list[str] = []
    if cursor:
        position = call.runtime.cursors.decode(cursor, user=call.user, environment=call.environment)
        if not isinstance(position, ODataCursor):
            raise wrong_tool_error(position)
        metadata = await resolve_columns(call, position.table)
        summary = metadata.table
        with dataverse_errors(table=summary.logical_name):
            page = await call.client.query_next(position.next_link, page_size=position.page_size)
        page_size = position.page_size
    else:
        if not table:
            raise InvalidArgumentError("Pass `table` (a logical name such as 'account') or a `cursor`.")
        metadata = await resolve_columns(call, table)
        summary = metadata.table
        selection = resolve_selection(metadata, select)
        await enforce_expand_policy(call, summary, expand)
        filter_text = filter or None
        if filter_text and needs_metadata(filter_text, columns_by_name(metadata)):
            exact = await translate_filter(filter_text, await get_table(call, summary), await filter_context(call))
            filter_text, translated = exact.filter, exact.notes
        with dataverse_errors(table=summary.logical_name):
            async with expand_errors(call, summary, expand):
                page = await call.client.query(
                    summary.entity_set, select=selection.wire, filter=filter_text, orderby=orderby or None,
                    top=None, expand=expand or None, count=count, page_size=top,
                )
        page_size = top
    next_cursor = None
    if page.next_link:
        next_cursor = call.runtime.cursors.encode(
            ODataCursor(table=summary.logical_name, next_link=page.next_link, page_size=page_size),
            user=call.user, environment=call.environment,
        )
    return RowsResult(
        table=summary.logical_name, rows=shape_rows(page.rows, columns_by_name(metadata)), count=page.count,
        more=next_cursor is not None, cursor=next_cursor, translated=translated or None,
        link=record_link_template(call, summary.logical_name),
    )


@group.tool(title="Get a record", annotations=READ_ONLY, widget=CARD_URI,
            description="One record by table and id; without select, its business columns that have values.")
async def get_record(call: ToolCall, table: TableName, id: RecordId, select: Columns = None) -> RecordResult:
    record_id = record_id_argument(id)
    metadata = await resolve_columns(call, table)
    summary = metadata.table
    wire = resolve_selection(metadata, select).wire if select else None  # None: every column, bookkeeping dropped
    with dataverse_errors(table=summary.logical_name, record_id=record_id):
        raw = await call.client.retrieve(summary.entity_set, record_id, select=wire, expand=None)
    record = shape_row(raw, columns_by_name(metadata))
    if wire is None:
        record = {key: value for key, value in record.items() if is_business_column(key.removesuffix("_local"))}
    return RecordResult(table=summary.logical_name, record=record,
                        url=record_url(call, summary.logical_name, record_id))


@group.tool(title="FetchXML query", annotations=READ_ONLY, alone=("cursor",), description=(
    "A FetchXML query, for joins (link-entity), aggregates (sum, avg, count, groupby) and operators such as "
    "eq-userid or this-month."))
async def fetchxml_query(
    call: ToolCall,
    fetchxml: Annotated[str | None, Field(description=(
        "<fetch> with one <entity name='logicalname'>; aggregates need an alias on every attribute; count= rows "
        "per page (50, at most 500)."))] = None,
    cursor: Cursor = None,
) -> RowsResult:
    if cursor:
        position = call.runtime.cursors.decode(cursor, user=call.user, environment=call.environment)
        if not isinstance(position, FetchXmlCursor):
            raise wrong_tool_error(position)
        original, entity_set, page_number, page_size = (position.fetch_xml, position.entity_set, position.page,
                                                        position.page_size)
        with dataverse_errors():
            request_xml = with_paging(original, page=page_number, count=page_size,
                                      paging_cookie=position.paging_cookie)
        table_name = entity_name(original)
        paged = True
    else:
        if not fetchxml:
            raise InvalidArgumentError("Pass `fetchxml` (a <fetch> query) or a `cursor`.")
        with dataverse_errors():
            root = validate_fetch_xml(fetchxml)
        summary = await check_fetchxml_tables(call, root)
        table_name, entity_set, original = summary.logical_name, summary.entity_set, fetchxml
        _int_attribute(root.get("top"), default=0, low=1, high=MAX_PAGE_SIZE, name="top")
        paged = root.get("aggregate", "").lower() != "true" and root.get("top") is None
        page_number = _int_attribute(root.get("page"), default=1, low=1, high=1_000_000, name="page")
        page_size = _int_attribute(root.get("count"), default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE,
                                   name="count")
        with dataverse_errors():
            request_xml = with_paging(original, page=page_number, count=page_size) if paged else original
    with dataverse_errors(table=table_name, language="fetchxml"):
        try:
            page = await call.client.fetch_xml(entity_set, request_xml)
        except BadRequestError as error:
            diagnosis = await diagnose_columns(call, validate_fetch_xml(original))
            if diagnosis is None:
                raise
            raise diagnosis from error
    next_cursor = None
    if paged and page.more_records:
        next_cursor = call.runtime.cursors.encode(
            FetchXmlCursor(entity_set=entity_set, fetch_xml=original, page=page.next_page or page_number + 1,
                           page_size=page_size, paging_cookie=page.paging_cookie),
            user=call.user, environment=call.environment,
        )
    rows = shape_rows(page.rows)
    link = record_link_template(call, table_name) if root_is_plain(original) else None
    return RowsResult(table=table_name, rows=rows, more=next_cursor is not None, cursor=next_cursor, link=link)


def root_is_plain(fetch_xml: str) -> bool:
    """Rows of a non-aggregate query are records of the entity (links apply); aggregate rows are groups."""
    return validate_fetch_xml(fetch_xml).get("aggregate", "").lower() != "true"


def _int_attribute(text: str | None, *, default: int, low: int, high: int, name: str) -> int:
    if text is None:
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        more = "; page with count= and the cursor for more" if name in ("top", "count") else ""
        raise InvalidFetchXmlQueryError(f"<fetch {name}={text!r}> must be a whole number from {low} to {high}{more}.")
    return int(text)
