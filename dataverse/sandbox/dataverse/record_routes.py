"""Reading records: `GET /{entityset}` and filtered collections (OData query options with parameter aliases, paging,
`$count` and the totalrecordcount annotations, `$expand` as expand_render writes it) and `GET /{entityset}({key})`
(retrieve one, with `ETag`). Key parsing (GUIDs and the account number alternate key) lives here too because writes
address records the same way."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from dataverse.sandbox.dataverse import expand_render
from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.expand_render import style_for
from dataverse.sandbox.dataverse.formatting import MAX_PAGE_SIZE, TOTAL_RECORD_COUNT
from dataverse.sandbox.dataverse.model import Row, SandboxError, Table
from dataverse.sandbox.dataverse.odata_aliases import resolve_aliases
from dataverse.sandbox.dataverse.odata_query import (
    BAD_QUERY,
    Expand,
    build_skiptoken,
    check_option_names,
    page_of,
    parse_count,
    parse_expand,
    parse_orderby,
    parse_select,
    parse_skiptoken,
    parse_top,
    select_context,
    sort_rows,
    strip_skiptoken,
)

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ALTERNATE_KEYS = {"account": ("accountnumber",)}
MAX_COUNT = 5000
TOTAL_RECORD_COUNT_LIMIT_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
GLOBAL_METADATA_VERSION = "Microsoft.Dynamics.CRM.globalmetadataversion"
METADATA_VERSION = "1479999"


def resolve_key(ctx: RequestContext, table: Table, key: str) -> str:
    """The primary id a key segment names: a GUID, `<primaryid>=<guid>` or a declared alternate key `col='v'`.

    Raises 400 for a malformed key and 404 (0x80060891) when an alternate key matches nothing."""
    text = key.strip()
    if text.startswith(f"{table.primary_id}="):
        text = text.split("=", 1)[1]
    if GUID.fullmatch(text):
        return text.lower()
    match = re.fullmatch(r"(\w+)='((?:[^']|'')*)'", text)
    if match and match.group(1) in ALTERNATE_KEYS.get(table.logical_name, ()):
        column, value = match.group(1), match.group(2).replace("''", "'")
        for row in ctx.org.all_rows(table.logical_name):
            if str(row.get(column, "")).lower() == value.lower():
                return str(row[table.primary_id])
        raise SandboxError(404, "0x80060891",
                           f"A record with the specified key values does not exist in {table.logical_name} entity")
    raise SandboxError(400, BAD_QUERY, "Bad Request - Error in query syntax.")


def render_row(ctx: RequestContext, table: Table, row: Row, selected: list[str] | None,
               expands: list[Expand], *, single_record: bool = True) -> dict[str, Any]:
    """The wire shape of one row with its expansions (see expand_render for the collection/retrieve differences)."""
    style = style_for(ctx, expands, single_record=single_record)
    return expand_render.render_row(ctx, table, row, selected, expands, style)


def _count_annotations(ctx: RequestContext, body: dict[str, Any], count: int | None) -> None:
    """`@Microsoft.Dynamics.CRM.totalrecordcount` (-1 without `$count=true`), `...limitexceeded` and
    `...globalmetadataversion`, when the Prefer header asks for them (PD webapi/query/count-rows.md)."""
    if ctx.preferences.wants(TOTAL_RECORD_COUNT):
        body[f"@{TOTAL_RECORD_COUNT}"] = -1 if count is None else min(count, MAX_COUNT)
    if ctx.preferences.wants(TOTAL_RECORD_COUNT_LIMIT_EXCEEDED):
        body[f"@{TOTAL_RECORD_COUNT_LIMIT_EXCEEDED}"] = count is not None and count > MAX_COUNT
    if ctx.preferences.wants(GLOBAL_METADATA_VERSION):
        body[f"@{GLOBAL_METADATA_VERSION}"] = METADATA_VERSION


async def list_records(ctx: RequestContext, table: Table, *, rows: list[Row] | None = None,
                       path: str | None = None) -> Response:
    """A collection: the entity set, or (with `rows` and `path`) a filtered collection such as
    `accounts(<id>)/contact_customer_accounts` (PD webapi/query/overview.md, "Filtered collections")."""
    if ctx.param("fetchXml") is not None:
        from dataverse.sandbox.dataverse.fetch_routes import run_fetch_query

        return run_fetch_query(ctx, table)
    options = resolve_aliases(check_option_names(ctx.params), ctx.params)
    if "$apply" in options:
        from dataverse.sandbox.dataverse.apply_routes import run_apply

        return run_apply(ctx, table, options, rows=rows)
    selected = parse_select(table, options.get("$select"))
    order = parse_orderby(table, options.get("$orderby"))
    top = parse_top(options.get("$top"))
    count = parse_count(options.get("$count"))
    expands = parse_expand(table, options.get("$expand"), ctx.org.tables)
    if rows is None:
        rows = ctx.dataset.rows(table.logical_name)
    if options.get("$filter"):
        from dataverse.sandbox.dataverse.odata_filter import compile_filter

        predicate = compile_filter(options["$filter"], table, ctx.dataset, ctx.dataset.query_context())
        rows = [row for row in rows if predicate(row)]
    rows = sort_rows(table, rows, order)
    page_size = ctx.preferences.max_page_size
    more = False
    if page_size is None and top is not None:
        page = rows[:top]
    else:
        position = parse_skiptoken(options.get("$skiptoken"))
        page, more = page_of(table, rows, position, page_size or MAX_PAGE_SIZE)
    body: dict[str, Any] = {
        "@odata.context": ctx.context_url(table.entity_set + select_context(table, selected, expands)),
    }
    if count:
        body["@odata.count"] = min(len(rows), MAX_COUNT)
    _count_annotations(ctx, body, len(rows) if count else None)
    body["value"] = [render_row(ctx, table, row, selected, expands, single_record=False) for row in page]
    if more:
        position = parse_skiptoken(options.get("$skiptoken"))
        token = build_skiptoken(table, page, position.page_number + 1)
        query = strip_skiptoken(ctx.raw_query)
        body["@odata.nextLink"] = (f"{ctx.api_url}/{path or table.entity_set}?{query}{'&' if query else ''}"
                                   f"$skiptoken={token}")
    headers = {}
    applied = ctx.preferences.applied(page_size_used=page_size is not None)
    if applied:
        headers["Preference-Applied"] = applied
    return json_response(body, headers=headers)


def single_options(ctx: RequestContext, table: Table) -> tuple[list[str] | None, list[Expand]]:
    """`$select` and `$expand` for a single-record request; other options are rejected."""
    options = check_option_names(ctx.params)
    for name in options:
        if name not in ("$select", "$expand"):
            raise SandboxError(400, BAD_QUERY, f"The query parameter {name} is not supported on a single record")
    return parse_select(table, options.get("$select")), parse_expand(table, options.get("$expand"), ctx.org.tables)


def entity_body(ctx: RequestContext, table: Table, row: Row, selected: list[str] | None,
                expands: list[Expand]) -> dict[str, Any]:
    context = ctx.context_url(f"{table.entity_set}{select_context(table, selected, expands)}/$entity")
    return {"@odata.context": context, **render_row(ctx, table, row, selected, expands)}


async def get_record(ctx: RequestContext, table: Table, key: str) -> Response:
    row_id = resolve_key(ctx, table, key)
    selected, expands = single_options(ctx, table)
    row = ctx.dataset.get_or_404(table, row_id)
    body = entity_body(ctx, table, row, selected, expands)
    headers = {"ETag": f'W/"{row["versionnumber"]}"'}
    applied = ctx.preferences.applied(page_size_used=False)
    if applied:
        headers["Preference-Applied"] = applied
    return json_response(body, headers=headers)


async def get_record_property(ctx: RequestContext, table: Table, key: str, name: str) -> Response:
    """`GET /accounts(id)/name`: one column's value."""
    row = ctx.dataset.get_or_404(table, resolve_key(ctx, table, key))
    column = table.column(name)
    if column is None:
        raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{name}'.")
    from dataverse.sandbox.dataverse.formatting import wire_value

    value = row.get(column.logical_name)
    if value is None:
        return Response(status_code=204)
    return json_response({"@odata.context": ctx.context_url(f"{table.entity_set}({row[table.primary_id]})/{name}"),
                          "value": wire_value(column, value)})
