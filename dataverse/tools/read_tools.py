"""The read tools: whoami, list_tables, describe_table, refresh_schema, query_records, get_record, fetchxml_query.

Each is an async method whose typed, described parameters become the tool's input schema and whose annotated
result model becomes its output schema. Every call acts as the signed-in user (see context.py); tables, columns and
ids are checked against metadata before anything is sent, and paging continues through signed cursors only.
"""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult
from pydantic import Field

from dataverse.tools.context import ToolRuntime
from dataverse.tools.cursor import FetchXmlCursor, ODataCursor
from dataverse.tools.errors import (
    InvalidArgumentError,
    dataverse_errors,
    record_id_argument,
)
from dataverse.tools.results import (
    ChoiceEntry,
    ColumnEntry,
    RecordResult,
    RefreshSchemaResult,
    RelatedCollection,
    RowsResult,
    TableDescriptionResult,
    TableEntry,
    TableListResult,
    WhoAmIResult,
    tool_result,
)
from dataverse.tools.shaping import shape_row, shape_rows
from dataverse.tools.tables import (
    LOOKUP_TYPES,
    columns_by_name,
    enforce_expand_policy,
    get_table,
    list_tables,
    resolve_columns,
    resolve_selection,
    resolve_table,
    table_allowed,
    table_not_allowed_error,
)
from dataverse.webapi.fetchxml import validate_fetch_xml, with_paging
from dataverse.webapi.models import TableMetadata

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
MAX_LISTED_TABLES = 200

Environment = Annotated[
    str | None,
    Field(description="Dataverse environment URL; omit for the default environment."),
]
TableName = Annotated[str, Field(description="Table logical name, e.g. 'account', 'opportunity' (see list_tables).")]
Columns = Annotated[
    list[str] | str | None,
    Field(description="Column logical names to return (list or comma-separated). Omit for the primary name only; "
                      "ask only for what you need. Lookups can be named x or _x_value."),
]


class ReadTools:
    """The read tools bound to one ToolRuntime; `server.py` registers the methods."""

    def __init__(self, runtime: ToolRuntime):
        self.runtime = runtime

    async def whoami(self, environment: Environment = None) -> Annotated[CallToolResult, WhoAmIResult]:
        call = self.runtime.begin_call(environment)

        async def create() -> WhoAmIResult:
            with dataverse_errors():
                identity = await call.client.whoami()
                profile = await call.client.get_user_profile(identity.user_id)
            return WhoAmIResult(
                user_id=identity.user_id, name=profile.full_name, email=profile.email,
                business_unit=profile.business_unit, time_zone_code=profile.timezone_code,
                environment=call.environment,
            )

        return tool_result(await self.runtime.metadata.get_whoami(call.environment, call.user, create))

    async def list_tables(
        self,
        search: Annotated[str | None, Field(description="Words to look for in table names, e.g. 'opportun'.")] = None,
        environment: Environment = None,
    ) -> Annotated[CallToolResult, TableListResult]:
        call = self.runtime.begin_call(environment)
        tables = await list_tables(self.runtime, call)
        if search and search.strip():
            needle = search.strip().lower()
            tables = [t for t in tables if needle in t.logical_name or needle in (t.display_name or "").lower()
                      or needle in t.entity_set.lower()]
        tables = sorted(tables, key=lambda t: t.logical_name)
        listed = [TableEntry(name=t.logical_name, display_name=t.display_name, entity_set=t.entity_set)
                  for t in tables[:MAX_LISTED_TABLES]]
        more = True if len(tables) > MAX_LISTED_TABLES else None
        return tool_result(TableListResult(tables=listed, total=len(tables), more=more))

    async def describe_table(
        self, table: TableName, environment: Environment = None
    ) -> Annotated[CallToolResult, TableDescriptionResult]:
        call = self.runtime.begin_call(environment)
        summary = await resolve_table(self.runtime, call, table)
        return tool_result(describe(await get_table(self.runtime, call, summary), self.runtime))

    async def refresh_schema(self, environment: Environment = None) -> Annotated[CallToolResult, RefreshSchemaResult]:
        call = self.runtime.begin_call(environment)
        cleared = self.runtime.metadata.clear_schema(call.environment)
        return tool_result(RefreshSchemaResult(cleared=cleared, environment=call.environment))

    async def query_records(
        self,
        table: Annotated[str | None, Field(description="Table logical name, e.g. 'opportunity'. "
                                                       "Not needed when passing cursor.")] = None,
        select: Columns = None,
        filter: Annotated[str | None, Field(description=(
            "OData $filter, e.g. \"statecode eq 0 and contains(name,'contoso')\". Lookups as _x_value eq <guid>; "
            "dates like 2026-01-31; functions Microsoft.Dynamics.CRM.ThisMonth(PropertyName='estimatedclosedate'), "
            "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid'), LastXDays, NextXDays, Today."))] = None,
        orderby: Annotated[str | None, Field(description="e.g. 'estimatedclosedate asc,name'.")] = None,
        top: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Rows per page (1-500).")] = DEFAULT_PAGE_SIZE,
        expand: Annotated[str | None, Field(description=(
            "OData $expand with navigation properties from describe_table (bind/related), "
            "e.g. 'parentaccountid($select=name)'."))] = None,
        count: Annotated[bool, Field(description="Also return the total number of matching records.")] = False,
        cursor: Annotated[str | None, Field(description="From a previous result's cursor: pass it alone to get "
                                                        "the next page.")] = None,
        environment: Environment = None,
    ) -> Annotated[CallToolResult, RowsResult]:
        call = self.runtime.begin_call(environment)
        if cursor:
            position = self.runtime.cursors.decode(cursor, user=call.user, environment=call.environment)
            if not isinstance(position, ODataCursor):
                raise InvalidArgumentError("This cursor came from fetchxml_query; pass it to fetchxml_query instead.")
            metadata = await resolve_columns(self.runtime, call, position.table)
            summary = metadata.table
            with dataverse_errors(table=summary.logical_name):
                page = await call.client.query_next(position.next_link, page_size=position.page_size)
            page_size = position.page_size
        else:
            if not table:
                raise InvalidArgumentError("Pass `table` (a logical name such as 'account') or a `cursor`.")
            metadata = await resolve_columns(self.runtime, call, table)
            summary = metadata.table
            selection = resolve_selection(metadata, select)
            await enforce_expand_policy(self.runtime, call, summary, expand)
            with dataverse_errors(table=summary.logical_name):
                page = await call.client.query(
                    summary.entity_set, select=selection.wire, filter=filter or None, orderby=orderby or None,
                    top=None, expand=expand or None, count=count, page_size=top,
                )
            page_size = top
        next_cursor = None
        if page.next_link:
            next_cursor = self.runtime.cursors.encode(
                ODataCursor(table=summary.logical_name, next_link=page.next_link, page_size=page_size),
                user=call.user, environment=call.environment,
            )
        return tool_result(RowsResult(
            table=summary.logical_name, rows=shape_rows(page.rows, columns_by_name(metadata)), count=page.count,
            more=next_cursor is not None, cursor=next_cursor,
        ))

    async def get_record(
        self,
        table: TableName,
        id: Annotated[str, Field(description="The record's id (a GUID).")],
        select: Columns = None,
        environment: Environment = None,
    ) -> Annotated[CallToolResult, RecordResult]:
        call = self.runtime.begin_call(environment)
        record_id = record_id_argument(id)
        metadata = await resolve_columns(self.runtime, call, table)
        summary = metadata.table
        selection = resolve_selection(metadata, select)
        with dataverse_errors(table=summary.logical_name, record_id=record_id):
            raw = await call.client.retrieve(summary.entity_set, record_id, select=selection.wire, expand=None)
        return tool_result(RecordResult(table=summary.logical_name, record=shape_row(raw, columns_by_name(metadata))))

    async def fetchxml_query(
        self,
        fetchxml: Annotated[str | None, Field(description=(
            "A FetchXML query: one <fetch> with one <entity name='logicalname'>. Use it for joins (link-entity), "
            "aggregates (aggregate='true' with alias on every attribute) and operators like eq-userid, this-month. "
            "Rows per page come from count= (default 50, at most 500)."))] = None,
        cursor: Annotated[str | None, Field(description="From a previous result: pass it alone for the next page.")]
        = None,
        environment: Environment = None,
    ) -> Annotated[CallToolResult, RowsResult]:
        call = self.runtime.begin_call(environment)
        if cursor:
            position = self.runtime.cursors.decode(cursor, user=call.user, environment=call.environment)
            if not isinstance(position, FetchXmlCursor):
                raise InvalidArgumentError("This cursor came from query_records; pass it to query_records instead.")
            original, entity_set, page_number, page_size = (position.fetch_xml, position.entity_set, position.page,
                                                            position.page_size)
            with dataverse_errors():
                request_xml = with_paging(original, page=page_number, count=page_size,
                                          paging_cookie=position.paging_cookie)
            table_name = validate_fetch_xml(original).find("entity").get("name")  # type: ignore[union-attr]
            paged = True
        else:
            if not fetchxml:
                raise InvalidArgumentError("Pass `fetchxml` (a <fetch> query) or a `cursor`.")
            with dataverse_errors():
                root = validate_fetch_xml(fetchxml)
            table_name = root.find("entity").get("name")  # type: ignore[union-attr]
            for element in root.iter():
                if element.tag in ("entity", "link-entity") and not table_allowed(
                        self.runtime.settings, element.get("name", "")):
                    raise table_not_allowed_error(element.get("name", ""))
            summary = await resolve_table(self.runtime, call, table_name)
            entity_set, original = summary.entity_set, fetchxml
            paged = root.get("aggregate", "").lower() != "true" and root.get("top") is None
            page_number = _int_attribute(root.get("page"), default=1, low=1, high=1_000_000, name="page")
            page_size = _int_attribute(root.get("count"), default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE,
                                       name="count")
            with dataverse_errors():
                request_xml = with_paging(original, page=page_number, count=page_size) if paged else original
        with dataverse_errors(table=table_name):
            page = await call.client.fetch_xml(entity_set, request_xml)
        next_cursor = None
        if paged and page.more_records:
            next_cursor = self.runtime.cursors.encode(
                FetchXmlCursor(entity_set=entity_set, fetch_xml=original, page=page.next_page or page_number + 1,
                               page_size=page_size, paging_cookie=page.paging_cookie),
                user=call.user, environment=call.environment,
            )
        return tool_result(RowsResult(table=table_name, rows=shape_rows(page.rows), more=next_cursor is not None,
                                      cursor=next_cursor))


def _int_attribute(text: str | None, *, default: int, low: int, high: int, name: str) -> int:
    if text is None:
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise InvalidArgumentError(f"<fetch {name}={text!r}> must be a whole number from {low} to {high}.")
    return int(text)


def describe(metadata: TableMetadata, runtime: ToolRuntime) -> TableDescriptionResult:
    """The describe_table result: columns with what a model needs to read and write them."""
    binds: dict[str, dict[str, str]] = {}
    for relationship in metadata.many_to_one:
        if relationship.navigation_property:
            binds.setdefault(relationship.referencing_attribute, {})[relationship.referenced_entity] = (
                relationship.navigation_property)
    columns = []
    for column in sorted(metadata.columns, key=lambda c: c.logical_name):
        is_lookup = column.type in LOOKUP_TYPES
        columns.append(ColumnEntry(
            name=column.logical_name, type=column.type, display_name=column.display_name,
            required=True if column.required_level in ("SystemRequired", "ApplicationRequired") else None,
            create=column.valid_for_create, update=column.valid_for_update,
            choices=[ChoiceEntry(value=o.value, label=o.label, state=o.state) for o in column.options]
            if column.options else None,
            targets=column.targets or None,
            filter_as=f"_{column.logical_name}_value" if is_lookup else None,
            bind=binds.get(column.logical_name) or None,
            max_length=column.max_length,
        ))
    related = [
        RelatedCollection(name=r.navigation_property, table=r.referencing_entity, column=r.referencing_attribute)
        for r in metadata.one_to_many
        if r.navigation_property and table_allowed(runtime.settings, r.referencing_entity)
    ]
    table = metadata.table
    return TableDescriptionResult(
        table=table.logical_name, display_name=table.display_name, entity_set=table.entity_set,
        primary_id=table.primary_id, primary_name=table.primary_name, columns=columns, related=related or None,
    )
