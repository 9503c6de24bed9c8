"""Rows with their `$expand`ed navigation properties, shaped as Dataverse writes them.

What PD webapi/query/join-tables.md, webapi/retrieve-entity-using-web-api.md and web-api-query-data-sample.md (Section
6) show, and this module reproduces:

- Retrieving one record (`GET accounts(id)?$expand=...`): every expanded record carries `@odata.etag`; expanded
  collections are plain arrays.
- Querying a collection: single-valued expansions carry no `@odata.etag`. With no nested `$expand` anywhere, each
  expanded collection is unpaged, its rows carry `@odata.etag` and the lookup back to the parent (`_regardingobjectid_
  value`), and `<nav>@odata.nextLink` is always given: the filtered collection's URL with the nested options appended
  and no paging information. With a nested `$expand` anywhere, `Prefer: odata.maxpagesize` pages every expanded
  collection, its rows carry neither etag nor parent lookup, and `<nav>@odata.nextLink` (with `$skiptoken`) appears
  only when more rows follow.
- A single-valued expansion whose nested `$filter` rejects the related record, or that points nowhere, is `null`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import LookupValue, Row, Table
from dataverse.sandbox.dataverse.odata_query import Expand, build_skiptoken, readable_columns, sort_rows

_OPTION_SAFE = "$,()'*:@/!=;"


@dataclass(frozen=True)
class ExpandStyle:
    """How expanded navigation properties are written for one request."""

    single_record: bool  # the request retrieves one record (or returns one with return=representation)
    nested: bool = False  # some $expand in the request nests another $expand
    page_size: int | None = None  # Prefer: odata.maxpagesize, applied to expanded collections when nested


def style_for(ctx: RequestContext, expands: list[Expand], *, single_record: bool) -> ExpandStyle:
    nested = any(expand.expands for expand in expands)
    return ExpandStyle(single_record, nested, ctx.preferences.max_page_size)


def render_row(ctx: RequestContext, table: Table, row: Row, selected: list[str] | None, expands: list[Expand],
               style: ExpandStyle, *, etag: bool = True, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The wire shape of `row`: the selected columns (plus `extra` ones), then each expanded navigation property."""
    columns = list(selected or readable_columns(table))
    columns += [name for name in extra if name not in columns]
    out = ctx.formatter.row(table, row, columns, etag=etag)
    for expand in expands:
        if expand.one_to_many is not None:
            _expand_collection(ctx, table, row, expand, style, out)
        else:
            out[expand.navigation] = _expand_single(ctx, row, expand, style)
    return out


def _predicate(ctx: RequestContext, table: Table, text: str | None) -> Any:
    if not text:
        return None
    from dataverse.sandbox.dataverse.odata_filter import compile_filter

    return compile_filter(text, table, ctx.dataset, ctx.dataset.query_context())


def _expand_single(ctx: RequestContext, row: Row, expand: Expand, style: ExpandStyle) -> dict[str, Any] | None:
    value = row.get(expand.many_to_one[0].referencing_attribute)
    targets = {rel.referenced_entity for rel in expand.many_to_one}
    if not isinstance(value, LookupValue) or value.table not in targets:
        return None
    related = ctx.dataset.get(value.table, value.id)
    if related is None:
        return None
    related_table = ctx.org.table(value.table)
    predicate = _predicate(ctx, related_table, expand.filter_text)
    if predicate is not None and not predicate(related):
        return None
    select = [name for name in (expand.select or []) if name in related_table.columns] or None
    return render_row(ctx, related_table, related, select, expand.expands, style, etag=style.single_record)


def _options_query(options: dict[str, str]) -> str:
    return "&".join(f"{name}={quote(value, safe=_OPTION_SAFE)}" for name, value in options.items())


def _expand_collection(ctx: RequestContext, table: Table, row: Row, expand: Expand, style: ExpandStyle,
                       out: dict[str, Any]) -> None:
    rel = expand.one_to_many
    assert rel is not None
    child_table = ctx.org.table(rel.referencing_entity)
    parent = LookupValue(table.logical_name, str(row[table.primary_id]))
    children = [child for child in ctx.dataset.rows(rel.referencing_entity)
                if child.get(rel.referencing_attribute) == parent]
    predicate = _predicate(ctx, child_table, expand.filter_text)
    if predicate is not None:
        children = [child for child in children if predicate(child)]
    children = sort_rows(child_table, children, expand.order)[:expand.top]
    link = f"{ctx.api_url}/{table.entity_set}({parent.id})/{expand.navigation}"
    query = _options_query(expand.options)
    if style.single_record:
        out[expand.navigation] = [render_row(ctx, child_table, child, expand.select, expand.expands, style)
                                  for child in children]
        return
    if not style.nested:
        out[expand.navigation] = [
            render_row(ctx, child_table, child, expand.select, expand.expands, style,
                       extra=(rel.referencing_attribute,) if expand.select else ())
            for child in children
        ]
        out[f"{expand.navigation}@odata.nextLink"] = f"{link}?{query}" if query else link
        return
    page, more = children, False
    if style.page_size is not None and len(children) > style.page_size:
        page, more = children[:style.page_size], True
    out[expand.navigation] = [render_row(ctx, child_table, child, expand.select, expand.expands, style, etag=False)
                              for child in page]
    if more:
        token = build_skiptoken(child_table, page, 2)
        out[f"{expand.navigation}@odata.nextLink"] = f"{link}?{query}{'&' if query else ''}$skiptoken={token}"
