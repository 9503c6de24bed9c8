"""Metadata over HTTP: `EntityDefinitions` (with `$select`/`$filter`/`$expand`; `$orderby` and paging are refused as
Dataverse refuses them), `EntityDefinitions(LogicalName='x')` or `(<MetadataId>)`, and under it `/Attributes` (also
`Attributes(LogicalName='y')` and typed casts such as `/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`
with `$expand=OptionSet,GlobalOptionSet`), `/ManyToOneRelationships`, `/OneToManyRelationships` and
`/ManyToManyRelationships`."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.metadata import (
    ATTRIBUTE_TYPES,
    attribute_metadata,
    entity_metadata,
    many_to_many_metadata,
    many_to_one_metadata,
    metadata_id,
    one_to_many_metadata,
    option_set,
)
from dataverse.sandbox.dataverse.metadata_filter import compile_metadata_filter
from dataverse.sandbox.dataverse.model import SandboxError, Table

BAD_QUERY = "0x80060888"
CASTS_WITH_OPTIONS = {"PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata",
                      "BooleanAttributeMetadata", "MultiSelectPicklistAttributeMetadata"}
_KEY = re.compile(r"LogicalName='([^']*)'")
RELATIONSHIP_SEGMENTS = ("ManyToOneRelationships", "OneToManyRelationships", "ManyToManyRelationships")


def _options(ctx: RequestContext, allowed: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in ctx.params:
        if not name.startswith("$"):
            continue
        if name not in allowed:
            raise SandboxError(400, BAD_QUERY, f"The query parameter {name} is not supported for metadata queries.")
        options[name] = value
    return options


def _project(item: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    if not select:
        return item
    keep = {"MetadataId", "@odata.type", *select}
    return {key: value for key, value in item.items() if key in keep}


def _parse_select(text: str | None, sample: dict[str, Any], type_name: str,
                  navigations: tuple[str, ...] = ()) -> list[str] | None:
    if not text:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in sample and name not in navigations:
            raise SandboxError(400, BAD_QUERY, f"Could not find a property named '{name}' on type "
                                               f"'Microsoft.Dynamics.CRM.{type_name}'.")
    return names


def _filtered(items: list[dict[str, Any]], text: str | None, sample: dict[str, Any],
              type_name: str) -> list[dict[str, Any]]:
    if not text:
        return items
    predicate = compile_metadata_filter(text, lambda name: name in sample, type_name)
    return [item for item in items if predicate(item)]


def _table_for_key(ctx: RequestContext, key: str) -> Table:
    match = _KEY.fullmatch(key.strip())
    if match:
        name = match.group(1)
        if name in ctx.org.tables:
            return ctx.org.tables[name]
    else:
        name = key.strip().lower()
        for table in ctx.org.tables.values():
            if metadata_id("entity", table.logical_name) == name:
                return table
    raise SandboxError(404, "0x80040217",
                       f"The entity with a name = '{name}' with namemapping = 'Logical' was not found in the "
                       "MetadataCache.")


def _context(ctx: RequestContext, path: str, select: list[str] | None) -> str:
    return ctx.context_url(path + (f"({','.join(select)})" if select else ""))


def get_metadata(ctx: RequestContext, key: str | None, rest: list[str]) -> Response:
    if key is None:
        if rest:
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{rest[0]}'.")
        return _list_entities(ctx)
    table = _table_for_key(ctx, key)
    if not rest:
        options = _options(ctx, ("$select", "$expand"))
        item = entity_metadata(table)
        select = _parse_select(options.get("$select"), item, "EntityMetadata")
        body = _project(item, select)
        body.update(_entity_expands(ctx, table, options.get("$expand")))
        context = _context(ctx, "EntityDefinitions", select) + "/$entity"
        return json_response({"@odata.context": context, **body})
    segment = rest[0]
    base = f"EntityDefinitions('{table.logical_name}')"
    if segment in RELATIONSHIP_SEGMENTS and len(rest) == 1:
        options = _options(ctx, ("$select", "$filter"))
        items = _relationships(ctx, table, segment)
        if segment == "ManyToManyRelationships":
            type_name = "ManyToManyRelationshipMetadata"
            opportunity = ctx.org.tables["opportunity"]
            sample = items[0] if items else many_to_many_metadata(opportunity.many_to_many[0])
        else:
            type_name = "OneToManyRelationshipMetadata"
            sample = items[0] if items else many_to_one_metadata(ctx.org.tables, ctx.org.tables["account"],
                                                                 ctx.org.tables["account"].many_to_one[0])
        select = _parse_select(options.get("$select"), sample, type_name)
        items = _filtered(items, options.get("$filter"), sample, type_name)
        return json_response({"@odata.context": _context(ctx, f"{base}/{segment}", select),
                              "value": [_project(item, select) for item in items]})
    attribute = re.fullmatch(r"Attributes(?:\((.*)\))?", segment)
    if attribute is None:
        raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")
    return _attributes(ctx, table, base, attribute.group(1), rest[1:])


def _relationships(ctx: RequestContext, table: Table, segment: str) -> list[dict[str, Any]]:
    if segment == "ManyToOneRelationships":
        return [many_to_one_metadata(ctx.org.tables, table, rel) for rel in table.many_to_one]
    if segment == "ManyToManyRelationships":
        return [many_to_many_metadata(rel) for rel in table.many_to_many]
    return [one_to_many_metadata(ctx.org.tables, table, rel) for rel in table.one_to_many]


def _entity_expands(ctx: RequestContext, table: Table, text: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in re.split(r",(?![^(]*\))", text or ""))):
        match = re.fullmatch(r"(\w+)(?:\(\$select=([^)]*)\))?", part)
        if match is None or match.group(1) not in ("Attributes", *RELATIONSHIP_SEGMENTS):
            raise SandboxError(400, BAD_QUERY, f"Could not find a property named '{part.split('(')[0]}' on type "
                                               "'Microsoft.Dynamics.CRM.EntityMetadata'.")
        name = match.group(1)
        if name == "Attributes":
            items = [attribute_metadata(table, column) for column in table.columns.values()]
        else:
            items = _relationships(ctx, table, name)
        select = [s.strip() for s in match.group(2).split(",")] if match.group(2) else None
        out[name] = [_project(item, select) for item in items]
    return out


def _list_entities(ctx: RequestContext) -> Response:
    options = _options(ctx, ("$select", "$filter", "$expand"))
    items = [entity_metadata(table) for table in ctx.org.tables.values()]
    select = _parse_select(options.get("$select"), items[0], "EntityMetadata")
    items = _filtered(items, options.get("$filter"), items[0], "EntityMetadata")
    value = []
    for item in items:
        projected = _project(item, select)
        if options.get("$expand"):
            projected.update(_entity_expands(ctx, ctx.org.tables[item["LogicalName"]], options["$expand"]))
        value.append(projected)
    return json_response({"@odata.context": _context(ctx, "EntityDefinitions", select), "value": value})


def _attributes(ctx: RequestContext, table: Table, base: str, key: str | None, rest: list[str]) -> Response:
    cast = None
    if rest:
        if len(rest) != 1 or not rest[0].startswith("Microsoft.Dynamics.CRM."):
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{rest[0]}'.")
        cast = rest[0].removeprefix("Microsoft.Dynamics.CRM.")
        if cast not in set(ATTRIBUTE_TYPES.values()) | CASTS_WITH_OPTIONS:
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{rest[0]}'.")
    options = _options(ctx, ("$select", "$filter", "$expand"))
    columns = list(table.columns.values())
    if key is not None:
        match = _KEY.fullmatch(key.strip())
        wanted = match.group(1) if match else None
        columns = [c for c in columns if c.logical_name == wanted or metadata_id(
            "attribute", table.logical_name, c.logical_name) == key.strip().lower()]
        if not columns:
            raise SandboxError(404, "0x80040217", f"Could not find attribute with key {key} on entity "
                                                  f"'{table.logical_name}'.")
    items = [(column, attribute_metadata(table, column)) for column in columns]
    if cast is not None:
        items = [(c, item) for c, item in items if item["@odata.type"] == f"#Microsoft.Dynamics.CRM.{cast}"]
    sample = attribute_metadata(table, table.columns[table.primary_id])
    type_name = cast or "AttributeMetadata"
    navigations = ("OptionSet", "GlobalOptionSet") if cast in CASTS_WITH_OPTIONS else ()
    select = _parse_select(options.get("$select"), {**sample, "MaxLength": 0, "Targets": [], "Format": "",
                                                    "DateTimeBehavior": {}}, type_name)
    expands = [part.strip() for part in (options.get("$expand") or "").split(",") if part.strip()]
    for name in expands:
        if name not in navigations:
            raise SandboxError(400, BAD_QUERY, f"Could not find a property named '{name}' on type "
                                               f"'Microsoft.Dynamics.CRM.{type_name}'.")
    filtered = _filtered([item for _, item in items], options.get("$filter"), sample, type_name)
    keep = {id(item) for item in filtered}
    value = []
    for column, item in items:
        if id(item) not in keep:
            continue
        projected = _project(item, select)
        if cast is not None:
            projected.pop("@odata.type", None)
        if "OptionSet" in expands:
            projected["OptionSet"] = option_set(table, column)
        if "GlobalOptionSet" in expands:
            projected["GlobalOptionSet"] = None
        value.append(projected)
    path = f"{base}/Attributes" + (f"/Microsoft.Dynamics.CRM.{cast}" if cast else "")
    context_select = (select or []) + expands
    if key is not None:
        if not value:
            raise SandboxError(404, "0x80040217", f"Could not find attribute with key {key}.")
        return json_response({"@odata.context": _context(ctx, path, context_select or None) + "/$entity",
                              **value[0]})
    return json_response({"@odata.context": _context(ctx, path, context_select or None), "value": value})
