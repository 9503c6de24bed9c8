"""Changing records over HTTP: create (`POST /{entityset}`, with deep insert and collection binds from deep_insert),
update/upsert (`PATCH /{entityset}({key})` with If-Match and If-None-Match), and delete (`DELETE`), as the Dataverse
Web API answers them. The writes themselves (rules, security, cascades, activity parties, auditing) are `writes`;
what the Create and Update messages may not do (close an opportunity) is `state_rules`. `save_update` is shared with
property_routes."""

from __future__ import annotations

from starlette.responses import Response

from dataverse.sandbox.dataverse import writes
from dataverse.sandbox.dataverse.activity_parties import pop_activity_parties
from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.deep_insert import create_deep, reject_deep_update, rollback_on_error
from dataverse.sandbox.dataverse.model import Row, SandboxError, Table
from dataverse.sandbox.dataverse.payload import values_from_payload
from dataverse.sandbox.dataverse.record_routes import entity_body, resolve_key, single_options
from dataverse.sandbox.dataverse.security import not_found
from dataverse.sandbox.dataverse.state_rules import check_state_change
from dataverse.sandbox.dataverse.table_messages import require_supported

VERSION_MISMATCH = "0x80060882"
DUPLICATE = writes.DUPLICATE


def _written(ctx: RequestContext, table: Table, row: Row, *, created: bool) -> Response:
    """204 with `OData-EntityId`, or with `Prefer: return=representation` 201 (create) / 200 (update) and the record,
    without `OData-EntityId` (PD webapi/create-entity-web-api.md, "Create with data returned"); an update ignores
    `$expand` ("Update with data returned", update-delete-entities-using-web-api.md)."""
    if not ctx.preferences.return_representation:
        return Response(status_code=204, headers={"OData-EntityId": ctx.entity_url(table, row[table.primary_id])})
    selected, expands = single_options(ctx, table)
    headers = {"ETag": f'W/"{row["versionnumber"]}"', "Preference-Applied": "return=representation"}
    return json_response(entity_body(ctx, table, row, selected, expands if created else []),
                         status=201 if created else 200, headers=headers)


def save_insert(ctx: RequestContext, table: Table, values: Row, row_id: str | None,
                parties: list[Row] | None = None) -> Row:
    """Create one record of a create body (deep insert calls this for each record it makes)."""
    check_state_change(table, None, values)
    return writes.create_row(ctx.dataset, table, values, row_id=row_id, parties=parties)


def save_update(ctx: RequestContext, table: Table, existing: Row, values: Row,
                parties: list[Row] | None = None) -> Row:
    """Store `values` over the readable row `existing` through `writes.update_row` (privileges, owner and state
    checks, stamps, a new version), after the Update message's own state rules."""
    check_state_change(table, existing, values)
    return writes.update_row(ctx.dataset, table, existing, values, parties=parties)


async def create_record(ctx: RequestContext, table: Table) -> Response:
    body = await ctx.json_body()
    with rollback_on_error(ctx.org):
        row = create_deep(ctx, table, body, save_insert, save_update)  # takes <activity>_activity_parties too
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
    require_supported(table, "PATCH", has_key=True)
    existing = ctx.org.get_row(table.logical_name, row_id)
    readable = existing is not None and ctx.dataset.can_read(table.logical_name, existing)
    if existing is not None and not readable:
        raise not_found(table, row_id)
    _check_if_match(ctx, table, existing, row_id)
    if existing is None:  # PATCH is an upsert
        with rollback_on_error(ctx.org):
            row = create_deep(ctx, table, body, save_insert, save_update, row_id=row_id)
        return _written(ctx, table, row, created=True)
    parties = pop_activity_parties(ctx.dataset, table, body)
    values = values_from_payload(ctx.dataset, table, reject_deep_update(table, body), creating=False)
    with rollback_on_error(ctx.org):  # the activity and its new parties are stored together
        row = save_update(ctx, table, existing, values, parties)
    return _written(ctx, table, row, created=False)


async def delete_record(ctx: RequestContext, table: Table, key: str) -> Response:
    require_supported(table, "DELETE", has_key=True)
    row_id = resolve_key(ctx, table, key)
    row = ctx.dataset.get_or_404(table, row_id)
    ctx.dataset.require_write(table, row, "Delete")
    _check_if_match(ctx, table, row, row_id)
    with rollback_on_error(ctx.org):  # a Restrict deep in the cascade undoes the cascade's earlier steps
        writes.delete_row(ctx.dataset, table, row)
    return Response(status_code=204)
