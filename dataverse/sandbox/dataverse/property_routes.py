"""One column of one record: `PUT accounts(<id>)/name {"value": "x"}` sets it and `DELETE accounts(<id>)/description`
clears it, both answering 204 (PD webapi/update-delete-entities-using-web-api.md, "Update a single property value",
"Delete a single property value"; web-api-basic-operations-sample.md, Section 1). Neither works on a lookup: "This
can't be used with a single-valued navigation property to disassociate two entities" (same page); bind or `$ref`
instead. A SystemRequired column cannot be set to null ("When this is set to SystemRequired, you cannot set these
attributes to a null value", same page); a column not valid for update is ignored (PD entity-attribute-metadata.md).
"""

from __future__ import annotations

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import Column, SandboxError, Table
from dataverse.sandbox.dataverse.payload import BAD_REQUEST, ENTITY_REFERENCE, values_from_payload
from dataverse.sandbox.dataverse.record_routes import resolve_key
from dataverse.sandbox.dataverse.security import not_found
from dataverse.sandbox.dataverse.table_messages import require_supported
from dataverse.sandbox.dataverse.write_routes import save_update


def _column(table: Table, name: str) -> Column:
    column = table.columns.get(name)
    if column is None:
        raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{name}'.")
    if column.is_lookup or any(rel.navigation_property == name for rel in table.many_to_one):
        raise SandboxError(400, ENTITY_REFERENCE, f"The lookup '{name}' cannot be set or cleared as a single property "
                                                  f"value; use '{name}@odata.bind' in a PATCH, or $ref.")
    return column


async def put_property(ctx: RequestContext, table: Table, key: str, name: str) -> Response:
    column = _column(table, name)
    body = await ctx.json_body()
    if set(body) != {"value"}:
        raise SandboxError(400, BAD_REQUEST, "The request body of a single property update must be "
                                             "{\"value\": <new value>}.")
    await _change(ctx, table, key, column, body["value"])
    return Response(status_code=204)


async def delete_property(ctx: RequestContext, table: Table, key: str, name: str) -> Response:
    column = _column(table, name)
    await _change(ctx, table, key, column, None)
    return Response(status_code=204)


async def _change(ctx: RequestContext, table: Table, key: str, column: Column, value: object) -> None:
    require_supported(table, "PUT", has_key=True)  # a single-property update is an Update (activitypointer: none)
    row_id = resolve_key(ctx, table, key)
    existing = ctx.dataset.get(table.logical_name, row_id)
    if existing is None:
        raise not_found(table, row_id)
    ctx.dataset.require_write(table, existing)
    if value is None and column.required == "SystemRequired":
        raise SandboxError(400, "0x80040203", f"The '{column.logical_name}' attribute of the '{table.logical_name}' "
                                              "entity is SystemRequired and cannot be set to null.")
    values = values_from_payload(ctx.dataset, table, {column.logical_name: value}, creating=False)
    if values:  # a column not valid for update is ignored, as in a PATCH (PD entity-attribute-metadata.md)
        save_update(ctx, table, existing, values)
