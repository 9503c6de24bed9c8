"""Reading through a record's navigation properties, and counting, as PD documents it:

- `GET accounts(<id>)/contact_customer_accounts?$select=fullname,jobtitle`: the filtered collection, with every query
  option a collection takes; context `#contacts(fullname,jobtitle)` (web-api-basic-operations-sample.md, Section 4;
  webapi/query/overview.md, "Filtered collections"). `$apply` works on it too (web-api-query-data-sample.md,
  Section 7).
- `GET accounts(<id>)/primarycontactid?$select=fullname`: the related record, context `#contacts(fullname)/$entity`
  (retrieve-entity-using-web-api.md, "Retrieve navigation property values"); 204 when the lookup is empty.
- `GET accounts/$count` and `GET accounts(<id>)/Account_Tasks/$count`: a bare number, at most 5,000, `text/plain`,
  preceded by the UTF-8 byte order mark retrieve-entity-using-web-api.md shows (webapi/query/count-rows.md).
- A many-to-many navigation reads the same way as a one-to-many one: `GET opportunities(<id>)/
  opportunitycompetitors_association?$select=name` -> `#competitors(name)`, the records linked through the intersect
  table (crm-work section 5, `GET systemusers(<id>)/systemuserroles_association?$select=name`), and `/$count`.
"""

from __future__ import annotations

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.model import LookupValue, ManyToMany, OneToMany, Row, SandboxError, Table
from dataverse.sandbox.dataverse.odata_query import BAD_QUERY, check_option_names
from dataverse.sandbox.dataverse.record_routes import MAX_COUNT, entity_body, list_records, resolve_key, single_options

UTF8_BOM = "\ufeff"


def collection_navigation(table: Table, name: str) -> OneToMany | None:
    return next((rel for rel in table.one_to_many if rel.navigation_property == name), None)


def many_to_many_navigation(table: Table, name: str) -> ManyToMany | None:
    return next((rel for rel in table.many_to_many if rel.navigation_from(table.logical_name) == name), None)


def _children(ctx: RequestContext, table: Table, row: Row, rel: OneToMany) -> list[Row]:
    parent = LookupValue(table.logical_name, str(row[table.primary_id]))
    return [child for child in ctx.dataset.rows(rel.referencing_entity)
            if child.get(rel.referencing_attribute) == parent]


def _linked(ctx: RequestContext, table: Table, row: Row, rel: ManyToMany) -> tuple[Table, list[Row]]:
    """The records at the other end of `rel` linked to `row` that the caller can read."""
    other = ctx.org.table(rel.other_end(table.logical_name))
    ids = set(ctx.org.linked_ids(rel, table.logical_name, str(row[table.primary_id])))
    return other, [linked for linked in ctx.dataset.rows(other.logical_name) if linked[other.primary_id] in ids]


def count_response(ctx: RequestContext, table: Table, rows: list[Row]) -> Response:
    """`/$count`: the number of rows (after `$filter`, capped at 5,000) as text."""
    options = check_option_names(ctx.params)
    for name in options:
        if name != "$filter":
            raise SandboxError(400, BAD_QUERY, f"The query parameter {name} is not supported with $count")
    if options.get("$filter"):
        from dataverse.sandbox.dataverse.odata_aliases import resolve_aliases
        from dataverse.sandbox.dataverse.odata_filter import compile_filter

        text = resolve_aliases(options, ctx.params)["$filter"]
        predicate = compile_filter(text, table, ctx.dataset, ctx.dataset.query_context())
        rows = [row for row in rows if predicate(row)]
    return Response(f"{UTF8_BOM}{min(len(rows), MAX_COUNT)}", media_type="text/plain")


async def count_entity_set(ctx: RequestContext, table: Table) -> Response:
    return count_response(ctx, table, ctx.dataset.rows(table.logical_name))


async def get_navigation(ctx: RequestContext, table: Table, key: str, rest: list[str]) -> Response | None:
    """A GET below a record's navigation property, or None when `rest[0]` is no navigation property."""
    single = next((rel for rel in table.many_to_one if rel.navigation_property == rest[0]), None)
    collection = collection_navigation(table, rest[0])
    linked = many_to_many_navigation(table, rest[0])
    if single is None and collection is None and linked is None:
        return None
    row = ctx.dataset.get_or_404(table, resolve_key(ctx, table, key))
    if collection is not None or linked is not None:
        if collection is not None:
            child_table, children = ctx.org.table(collection.referencing_entity), _children(ctx, table, row, collection)
        else:
            assert linked is not None
            child_table, children = _linked(ctx, table, row, linked)
        if rest[1:] == ["$count"]:
            return count_response(ctx, child_table, children)
        if len(rest) > 1:
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{rest[1]}'.")
        path = f"{table.entity_set}({row[table.primary_id]})/{rest[0]}"
        return await list_records(ctx, child_table, rows=children, path=path)
    assert single is not None
    if len(rest) > 1:
        raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{rest[1]}'.")
    value = row.get(single.referencing_attribute)
    related_rels = [rel for rel in table.many_to_one if rel.navigation_property == rest[0]]
    if not isinstance(value, LookupValue) or value.table not in {rel.referenced_entity for rel in related_rels}:
        return Response(status_code=204)
    related_table = ctx.org.table(value.table)
    related = ctx.dataset.get_or_404(related_table, value.id)
    selected, expands = single_options(ctx, related_table)
    headers = {"ETag": f'W/"{related["versionnumber"]}"'}
    applied = ctx.preferences.applied(page_size_used=False)
    if applied:
        headers["Preference-Applied"] = applied
    return json_response(entity_body(ctx, related_table, related, selected, expands), headers=headers)
