"""Running saved views over HTTP: `GET <entityset>?savedQuery=<id>`, `GET <entityset>?userQuery=<id>` and the same on
a related collection (`GET accounts(<id>)/opportunity_parent_account?savedQuery=<id>`).

The answer is written as FetchXML answers are (fetch_routes): null columns left out, `@odata.etag` per row, the
`fetchxmlpagingcookie` and `morerecords` annotations when the Prefer header asks for them; and, when more rows
follow, an `@odata.nextLink` that repeats the request with the next page's `$skiptoken` (see views for the rules).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.fetch_routes import _fetch_row, outer_paging_cookie
from dataverse.sandbox.dataverse.fetchxml import run_fetch
from dataverse.sandbox.dataverse.formatting import MORE_RECORDS, PAGING_COOKIE
from dataverse.sandbox.dataverse.model import SandboxError, Table
from dataverse.sandbox.dataverse.odata_query import strip_skiptoken
from dataverse.sandbox.dataverse.views import (
    BAD_QUERY,
    Restriction,
    load_view,
    paged_fetch,
    parse_skiptoken,
    requested_view,
)


def names_a_view(ctx: RequestContext) -> bool:
    return requested_view(ctx.params) is not None


def run_view(ctx: RequestContext, table: Table, *, path: str, restriction: Restriction | None = None) -> Response:
    """Run the view the query string names over `table` (or over the related rows `restriction` picks)."""
    named = requested_view(ctx.params)
    if named is None:
        raise SandboxError(400, BAD_QUERY, "A savedQuery or userQuery parameter is required.")
    for name, _ in ctx.params:
        if name.startswith("$") and name != "$skiptoken":
            raise SandboxError(400, BAD_QUERY, f"The query parameter {name} is not supported with a saved query.")
    view = load_view(ctx.dataset, *named, table)
    position = parse_skiptoken(ctx.param("$skiptoken"))
    page_size = ctx.preferences.max_page_size
    xml = paged_fetch(view, page_size=page_size, position=position, restriction=restriction)
    result = run_fetch(xml, ctx.dataset, ctx.dataset.query_context())
    cookie = outer_paging_cookie(result.paging_cookie) if result.paging_cookie and result.more_records else None
    body: dict[str, Any] = {"@odata.context": ctx.context_url(table.entity_set)}
    if cookie and ctx.preferences.wants(PAGING_COOKIE):
        body[f"@{PAGING_COOKIE}"] = cookie
    if ctx.preferences.wants(MORE_RECORDS):
        body[f"@{MORE_RECORDS}"] = result.more_records
    body["value"] = [_fetch_row(ctx, result.table, row, result.columns, result.aggregate) for row in result.rows]
    if cookie:
        query = strip_skiptoken(ctx.raw_query)
        body["@odata.nextLink"] = f"{ctx.api_url}/{path}?{query}&$skiptoken={quote(cookie, safe='=/')}"
    headers = {}
    applied = ctx.preferences.applied(page_size_used=page_size is not None)
    if applied:
        headers["Preference-Applied"] = applied
    return json_response(body, headers=headers)


def run_view_on_related(ctx: RequestContext, table: Table, key: str, navigation: str, *, path: str) -> Response:
    """`GET <set>(<id>)/<collection navigation>?savedQuery=...`: the view over the record's related rows."""
    from dataverse.sandbox.dataverse.record_routes import resolve_key

    relationship = next((rel for rel in table.one_to_many if rel.navigation_property == navigation), None)
    if relationship is None:
        raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{navigation}'.")
    row_id = resolve_key(ctx, table, key)
    ctx.dataset.get_or_404(table, row_id)
    related = ctx.dataset.table(relationship.referencing_entity)
    return run_view(ctx, related, path=path,
                    restriction=Restriction(relationship.referencing_attribute, row_id))
