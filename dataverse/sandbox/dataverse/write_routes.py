"""Changing records over HTTP: create (`POST /{entityset}`), update/upsert (`PATCH /{entityset}({key})` with If-Match
and If-None-Match), and delete (`DELETE`), as the Dataverse Web API answers them. The writes themselves (rules,
security, cascades) are `writes`; what the Update message may not do (close an opportunity) is `state_rules`."""

from __future__ import annotations

from starlette.responses import Response

from dataverse.sandbox.dataverse import writes
from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.model import Row, SandboxError, Table
from dataverse.sandbox.dataverse.payload import values_from_payload
from dataverse.sandbox.dataverse.record_routes import entity_body, resolve_key, single_options
from dataverse.sandbox.dataverse.security import not_found
from dataverse.sandbox.dataverse.state_rules import check_state_change

VERSION_MISMATCH = "0x80060882"
DUPLICATE = writes.DUPLICATE


def _written(ctx: RequestContext, table: Table, row: Row, *, created: bool) -> Response:
    headers = {"OData-EntityId": ctx.entity_url(table, row[table.primary_id])}
    if not ctx.preferences.return_representation:
        return Response(status_code=204, headers=headers)
    selected, expands = single_options(ctx, table)
    headers["ETag"] = f'W/"{row["versionnumber"]}"'
    headers["Preference-Applied"] = "return=representation"
    return json_response(entity_body(ctx, table, row, selected, expands), status=201 if created else 200,
                         headers=headers)


async def create_record(ctx: RequestContext, table: Table) -> Response:
    body = await ctx.json_body()
    values = values_from_payload(ctx.dataset, table, body, creating=True)
    check_state_change(table, None, values)
    row = writes.create_row(ctx.dataset, table, values)
    return _written(ctx, table, row, created=True)


def _check_if_match(ctx: RequestContext, table: Table, row: Row | None, row_id: str) -> None:
    if_match = ctx.request.headers.get("if-match")
    if_none_match = ctx.request.headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() == "*" and row is not None:
        raise SandboxError(412, DUPLICATE, "A record with matching key values already exists.")
    if if_match is None:
        return
    if row is None:
        raise not_found(table, row_id)
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return
    current = f'W/"{row["versionnumber"]}"'
    if current not in tags and f'"{row["versionnumber"]}"' not in tags:
        raise SandboxError(412, VERSION_MISMATCH,
                           "The version of the existing record doesn't match the RowVersion property provided.")


async def update_record(ctx: RequestContext, table: Table, key: str) -> Response:
    row_id = resolve_key(ctx, table, key)
    body = await ctx.json_body()
    if table.logical_name in writes.READ_ONLY_TABLES:
        writes.require_create(ctx.dataset, table)
    existing = ctx.org.get_row(table.logical_name, row_id)
    readable = existing is not None and ctx.dataset.can_read(table.logical_name, existing)
    if existing is not None and not readable:
        raise not_found(table, row_id)
    _check_if_match(ctx, table, existing, row_id)
    if existing is None:  # PATCH is an upsert
        values = values_from_payload(ctx.dataset, table, body, creating=True)
        check_state_change(table, None, values)
        row = writes.create_row(ctx.dataset, table, values, row_id=row_id)
        return _written(ctx, table, row, created=True)
    values = values_from_payload(ctx.dataset, table, body, creating=False)
    check_state_change(table, existing, values)
    row = writes.update_row(ctx.dataset, table, existing, values)
    return _written(ctx, table, row, created=False)


async def delete_record(ctx: RequestContext, table: Table, key: str) -> Response:
    row_id = resolve_key(ctx, table, key)
    row = ctx.dataset.get_or_404(table, row_id)
    if table.logical_name == "activitypointer":
        table = ctx.org.table(str(row["activitytypecode"]))
        row = ctx.dataset.get_or_404(table, row_id)
    ctx.dataset.require_write(table, row, "Delete")
    _check_if_match(ctx, table, row, row_id)
    writes.delete_row(ctx.dataset, table, row)
    return Response(status_code=204)
