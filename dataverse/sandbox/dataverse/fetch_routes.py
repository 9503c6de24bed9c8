"""FetchXML over HTTP: `GET /{entityset}?fetchXml=<url-encoded>`, run by fetchxml.run_fetch and written as Dataverse
writes it: null columns omitted, link-entity columns as `<alias>.<column>`, aggregate rows keyed by alias, and the
`fetchxmlpagingcookie`/`morerecords` annotations when the Prefer header asks for them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.formatting import MORE_RECORDS, PAGING_COOKIE
from dataverse.sandbox.dataverse.model import Column, SandboxError, Table

MAX_URL_LENGTH = 32_768


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)


def outer_paging_cookie(inner: str) -> str:
    """The annotation value Dataverse sends: the engine's `<cookie page="N">..</cookie>` double-encoded inside
    `<cookie pagenumber="N+1" pagingcookie="..." istracking="False" />`."""
    match = re.search(r'<cookie\s+page="(\d+)"', inner)
    next_page = int(match.group(1)) + 1 if match else 2
    encoded = _lower_hex(quote(_lower_hex(quote(inner, safe="")), safe=""))
    return f'<cookie pagenumber="{next_page}" pagingcookie="{encoded}" istracking="False" />'


def run_fetch_query(ctx: RequestContext, table: Table) -> Response:
    from dataverse.sandbox.dataverse.fetchxml import run_fetch

    if len(str(ctx.request.url)) > MAX_URL_LENGTH:
        raise SandboxError(414, "0x80060888", "The request URL is too long.")
    xml = ctx.param("fetchXml") or ""
    result = run_fetch(xml, ctx.dataset, ctx.dataset.query_context())
    if result.table.logical_name != table.logical_name:
        raise SandboxError(400, "0x80060888",
                           f"The entity name specified in FetchXml ('{result.table.logical_name}') does not match "
                           f"the entity name in the EntitySet ('{table.entity_set}').")
    body: dict[str, Any] = {"@odata.context": ctx.context_url(table.entity_set)}
    if result.paging_cookie and result.more_records and ctx.preferences.wants(PAGING_COOKIE):
        body[f"@{PAGING_COOKIE}"] = outer_paging_cookie(result.paging_cookie)
    if ctx.preferences.wants(MORE_RECORDS):
        body[f"@{MORE_RECORDS}"] = result.more_records
    body["value"] = [_fetch_row(ctx, result.table, row, result.columns, result.aggregate) for row in result.rows]
    headers = {}
    applied = ctx.preferences.applied(page_size_used=False)
    if applied:
        headers["Preference-Applied"] = applied
    return json_response(body, headers=headers)


def _fetch_row(ctx: RequestContext, table: Table, row: dict[str, Any], columns: dict[str, Column],
               aggregate: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not aggregate:
        stored = ctx.org.get_row(table.logical_name, str(row.get(table.primary_id, "")))
        if stored is not None and stored.get("versionnumber") is not None:
            out["@odata.etag"] = f'W/"{stored["versionnumber"]}"'
    for key, value in row.items():
        if value is None:
            continue  # FetchXML results leave out null columns
        column = columns.get(key) or table.columns.get(key)
        if column is None:
            out[key] = value
            continue
        is_root = "." not in key and not aggregate
        out_key = f"_{key}_value" if column.is_lookup and is_root else key
        ctx.formatter.cell(out, out_key, column, value, table=table if is_root else None)
    return out
