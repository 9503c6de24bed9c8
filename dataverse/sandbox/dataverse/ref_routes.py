"""Associating and disassociating records through `$ref`, for collection-valued navigation properties (1:N and N:N)
and single-valued ones, as the Web API answers them (204, no body):

    POST   accounts(<id>)/contact_customer_accounts/$ref      {"@odata.id": "<org>/api/data/v9.2/contacts(<id>)"}
    POST   opportunities(<id>)/opportunitycompetitors_association/$ref   {"@odata.id": "competitors(<id>)"}
    DELETE accounts(<id>)/contact_customer_accounts(<contactid>)/$ref
    DELETE accounts(<id>)/opportunity_customer_accounts/$ref?$id=<org>/api/data/v9.2/opportunities(<id>)
    PUT    opportunities(<id>)/customerid_account/$ref        {"@odata.id": "accounts(<id>)"}
    DELETE opportunities(<id>)/customerid_account/$ref

A 1:N association is an update of the child's lookup and a single-valued one an update of the record's own lookup,
so both go through `writes.update_row` with its rules and privilege checks; N:N adds or removes the intersect row
(`writes.associate`/`disassociate`) after checking Append on the record and AppendTo on the target.

Errors: an unknown navigation property 404 0x8006088a "Resource not found for the segment '<x>'."; `$ref` after a
column's logical name 400 0x8006088a "The URI segment '$ref' is invalid after the segment '<x>'."; a record the
caller cannot see 404; one they cannot change 403 naming the missing privilege.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from dataverse.sandbox.dataverse import writes
from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import LookupValue, ManyToMany, ManyToOne, OneToMany, Row, SandboxError, Table
from dataverse.sandbox.dataverse.record_routes import resolve_key

SEGMENT_ERROR = "0x8006088a"
BAD_REQUEST = "0x80060888"
_NAVIGATION = re.compile(r"([A-Za-z_]\w*)(?:\(([^)]*)\))?$")
_ENTITY_URL = re.compile(r"(?:.*/)?([A-Za-z_]\w*)\(([0-9a-fA-F-]{36})\)$")


def _segment_not_found(segment: str) -> SandboxError:
    return SandboxError(404, SEGMENT_ERROR, f"Resource not found for the segment '{segment}'.")


def _wrong_type(navigation: str, given: str, expected: str) -> SandboxError:
    return SandboxError(400, BAD_REQUEST, f"A navigation link '{navigation}' was found for entity type "
                                          f"'Microsoft.Dynamics.CRM.{given}', but it expects "
                                          f"'Microsoft.Dynamics.CRM.{expected}'.")


def _target(ctx: RequestContext, reference: Any) -> tuple[Table, Row]:
    """The record an `@odata.id` (absolute, host-relative or relative) names, visible to the caller."""
    match = _ENTITY_URL.match(reference.strip()) if isinstance(reference, str) else None
    if match is None:
        raise SandboxError(400, BAD_REQUEST, f"The value '{reference}' is not a valid entity reference: use "
                                             "'<entityset>(<id>)' or its full URL in '@odata.id'.")
    try:
        table = ctx.org.table_by_entity_set(match.group(1))
    except KeyError:
        raise _segment_not_found(match.group(1)) from None
    return table, ctx.dataset.get_or_404(table, match.group(2).lower())


async def _body_reference(ctx: RequestContext) -> Any:
    body = await ctx.json_body()
    if "@odata.id" not in body:
        raise SandboxError(400, BAD_REQUEST, "The request body must be {\"@odata.id\": \"<entity URL>\"}.")
    return body["@odata.id"]


async def handle_ref(ctx: RequestContext, method: str, table: Table, key: str, rest: list[str]) -> Response:
    """`rest` is the path after `{set}({key})`: `[navigation, "$ref"]` or `[navigation(<id>), "$ref"]`."""
    if len(rest) != 2 or rest[1] != "$ref":
        raise _segment_not_found(rest[-1])
    match = _NAVIGATION.match(rest[0])
    if match is None:
        raise _segment_not_found(rest[0])
    navigation, child_key = match.group(1), match.group(2)
    source = ctx.dataset.get_or_404(table, resolve_key(ctx, table, key))
    one = next((rel for rel in table.one_to_many if rel.navigation_property == navigation), None)
    both = next((rel for rel in table.many_to_many if rel.navigation_from(table.logical_name) == navigation), None)
    many = [rel for rel in table.many_to_one if rel.navigation_property == navigation]
    if one is None and both is None and not many:
        if table.column(navigation) is not None:
            raise SandboxError(400, SEGMENT_ERROR,
                               f"The URI segment '$ref' is invalid after the segment '{navigation}'.")
        raise _segment_not_found(navigation)
    if many:
        if child_key is not None:
            raise _segment_not_found(rest[0])
        return await _single_valued(ctx, method, table, source, many, navigation)
    if method == "POST" and child_key is None:
        target_table, target = _target(ctx, await _body_reference(ctx))
    elif method == "DELETE":
        reference = ctx.param("$id")
        if child_key is not None and reference is None:
            expected = one.referencing_entity if one is not None else _other_end(both, table)
            target_table = ctx.org.table(expected)
            target = ctx.dataset.get_or_404(target_table, resolve_key(ctx, target_table, child_key))
        elif child_key is None and reference is not None:
            target_table, target = _target(ctx, reference)
        else:
            raise SandboxError(400, BAD_REQUEST, "Name the record to disassociate with '<navigation>(<id>)/$ref' or "
                                                 "'$id=<entity URL>'.")
    else:
        raise SandboxError(405, BAD_REQUEST, f"The HTTP method {method} is not allowed on the collection-valued "
                                             f"navigation property '{navigation}'.")
    if one is not None:
        _one_to_many(ctx, method, table, source, one, target_table, target)
    elif both is not None:
        _many_to_many(ctx, method, table, source, both, target_table, target)
    return Response(status_code=204)


def _other_end(rel: ManyToMany | None, table: Table) -> str:
    return rel.other_end(table.logical_name) if rel is not None else table.logical_name


def _one_to_many(ctx: RequestContext, method: str, table: Table, parent: Row, rel: OneToMany, child_table: Table,
                 child: Row) -> None:
    if child_table.logical_name != rel.referencing_entity:
        raise _wrong_type(rel.navigation_property, child_table.logical_name, rel.referencing_entity)
    link = LookupValue(table.logical_name, str(parent[table.primary_id]))
    if method == "POST":
        ctx.dataset.require_append_to(table, parent)
        writes.update_row(ctx.dataset, child_table, child, {rel.referencing_attribute: link})
    elif child.get(rel.referencing_attribute) == link:
        writes.update_row(ctx.dataset, child_table, child, {rel.referencing_attribute: None})


def _many_to_many(ctx: RequestContext, method: str, table: Table, source: Row, rel: ManyToMany, target_table: Table,
                  target: Row) -> None:
    expected = rel.other_end(table.logical_name)
    if target_table.logical_name != expected:
        raise _wrong_type(rel.navigation_from(table.logical_name) or rel.schema_name, target_table.logical_name,
                          expected)
    ctx.dataset.require_append(table, source)
    ctx.dataset.require_append_to(target_table, target)
    source_id, target_id = str(source[table.primary_id]), str(target[target_table.primary_id])
    first, second = (source_id, target_id) if rel.entity1 == table.logical_name else (target_id, source_id)
    if method == "POST":
        writes.associate(ctx.dataset, rel, first, second)
    else:
        writes.disassociate(ctx.dataset, rel, first, second)


async def _single_valued(ctx: RequestContext, method: str, table: Table, source: Row, relationships: list[ManyToOne],
                         navigation: str) -> Response:
    column = relationships[0].referencing_attribute
    targets = {rel.referenced_entity for rel in relationships}
    if method == "PUT":
        target_table, target = _target(ctx, await _body_reference(ctx))
        if target_table.logical_name not in targets:
            raise _wrong_type(navigation, target_table.logical_name, relationships[0].referenced_entity)
        ctx.dataset.require_append_to(target_table, target)
        value = LookupValue(target_table.logical_name, str(target[target_table.primary_id]))
        writes.update_row(ctx.dataset, table, source, {column: value})
    elif method == "DELETE":
        current = source.get(column)
        if isinstance(current, LookupValue) and current.table in targets:
            writes.update_row(ctx.dataset, table, source, {column: None})
    else:
        raise SandboxError(405, BAD_REQUEST, f"The HTTP method {method} is not allowed on the single-valued "
                                             f"navigation property '{navigation}': use PUT or DELETE.")
    return Response(status_code=204)
