"""Changing records: create (`POST /{entityset}`, with deep insert and collection binds from deep_insert),
update/upsert (`PATCH /{entityset}({key})` with If-Match and If-None-Match), and delete (`DELETE`, with cascade per
OneToMany relationship), as the Dataverse Web API answers them. `save_update` is shared with property_routes."""

from __future__ import annotations

import uuid

from starlette.responses import Response

from dataverse.sandbox.dataverse.activity_parties import pop_activity_parties, replace_activity_parties
from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.deep_insert import create_deep, reject_deep_update, rollback_on_error
from dataverse.sandbox.dataverse.model import LookupValue, Row, SandboxError, Table
from dataverse.sandbox.dataverse.payload import check_required, settle_state, values_from_payload
from dataverse.sandbox.dataverse.record_routes import entity_body, resolve_key, single_options
from dataverse.sandbox.dataverse.security import PRIVILEGE_DENIED, SecuredDataset, not_found
from dataverse.sandbox.dataverse.table_messages import require_supported

VERSION_MISMATCH = "0x80060882"
DUPLICATE = "0x80040237"


def _require_create(dataset: SecuredDataset, table: Table) -> None:
    require_supported(table, "POST", has_key=False)  # activitypointer, activityparty, audit: not created directly
    if table.ownership != "UserOwned" and not dataset.caller.is_manager:
        raise SandboxError(403, PRIVILEGE_DENIED,
                           f"Principal user (Id={dataset.caller.user_id}, type=8) is missing prvCreate"
                           f"{table.display_name.replace(' ', '')} privilege on entity '{table.logical_name}'.")


def _check_owner(dataset: SecuredDataset, table: Table, row: Row) -> None:
    owner = row.get("ownerid")
    if isinstance(owner, LookupValue) and not dataset.can_assign_to(owner.id):
        raise SandboxError(403, PRIVILEGE_DENIED,
                           f"Principal user (Id={dataset.caller.user_id}, type=8) is missing AssignAccess right on "
                           f"{table.logical_name} records owned by {owner.id}.")


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


def _insert(ctx: RequestContext, table: Table, values: Row, row_id: str | None) -> Row:
    _require_create(ctx.dataset, table)
    row_id = row_id or values.get(table.primary_id) or str(uuid.uuid4())
    if ctx.org.get_row(table.logical_name, row_id) is not None:
        raise SandboxError(412, DUPLICATE, "A record with matching key values already exists.")
    now, caller = ctx.org.now(), LookupValue("systemuser", ctx.dataset.caller.user_id)
    row: Row = {name: None for name in table.columns}
    row.update(values)
    row[table.primary_id] = row_id
    if "ownerid" in table.columns:
        row["ownerid"] = values.get("ownerid") or caller
        row.update(createdon=now, modifiedon=now, createdby=caller, modifiedby=caller)
        _check_owner(ctx.dataset, table, row)
    elif "createdon" in table.columns:
        row.update(createdon=now, modifiedon=now)
    settle_state(table, row)
    check_required(table, row)
    return ctx.org.put_row(table.logical_name, row)


async def create_record(ctx: RequestContext, table: Table) -> Response:
    body = await ctx.json_body()
    with rollback_on_error(ctx.org):
        row = create_deep(ctx, table, body, _insert, save_update)  # takes <activity>_activity_parties too
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
    parties = pop_activity_parties(ctx.dataset, table, body)
    if existing is None:  # PATCH is an upsert
        with rollback_on_error(ctx.org):
            row = create_deep(ctx, table, body, _insert, save_update, row_id=row_id)
            if parties is not None:
                replace_activity_parties(ctx.org, table, row_id, parties)
        return _written(ctx, table, row, created=True)
    ctx.dataset.require_write(table, existing)
    values = values_from_payload(ctx.dataset, table, reject_deep_update(table, body), creating=False)
    row = save_update(ctx, table, existing, values)
    if parties is not None:
        replace_activity_parties(ctx.org, table, row_id, parties)
    return _written(ctx, table, row, created=False)


def save_update(ctx: RequestContext, table: Table, existing: Row, values: Row) -> Row:
    """Store `values` over the readable, writable row `existing`: owner and state checks, stamps, a new version."""
    updated = dict(existing)
    updated.update(values)
    if "ownerid" in values:
        if values["ownerid"] is None:
            raise SandboxError(400, "0x80040203", "The owner of a record cannot be cleared.")
        _check_owner(ctx.dataset, table, updated)
    if "statecode" in values and "statuscode" not in values:
        updated["statuscode"] = None
    settle_state(table, updated)
    check_required(table, updated)
    if "modifiedon" in table.columns:
        updated["modifiedon"] = ctx.org.now()
    if "modifiedby" in table.columns:
        updated["modifiedby"] = LookupValue("systemuser", ctx.dataset.caller.user_id)
    return ctx.org.put_row(table.logical_name, updated)


def _delete_cascade(ctx: RequestContext, logical_name: str, row_id: str) -> None:
    table = ctx.org.table(logical_name)
    target = LookupValue(logical_name, row_id)
    for rel in table.one_to_many:
        if rel.referencing_entity == "activitypointer":
            continue  # a view over the activity tables, handled through them
        children = [row for row in ctx.org.all_rows(rel.referencing_entity)
                    if row.get(rel.referencing_attribute) == target]
        if not children or rel.cascade_delete == "NoCascade":
            continue
        child_table = ctx.org.table(rel.referencing_entity)
        if rel.cascade_delete == "Restrict":
            raise SandboxError(400, "0x80040227", f"The {logical_name} record cannot be deleted because it is "
                                                  f"referenced by {len(children)} {child_table.logical_name} record(s) "
                                                  f"through '{rel.schema_name}'.")
        for child in children:
            child_id = str(child[child_table.primary_id])
            if rel.cascade_delete == "Cascade":
                _delete_cascade(ctx, child_table.logical_name, child_id)
                ctx.org.remove_row(child_table.logical_name, child_id)
            else:
                unlinked = dict(child)
                unlinked[rel.referencing_attribute] = None
                ctx.org.put_row(child_table.logical_name, unlinked)


async def delete_record(ctx: RequestContext, table: Table, key: str) -> Response:
    require_supported(table, "DELETE", has_key=True)
    row_id = resolve_key(ctx, table, key)
    row = ctx.dataset.get_or_404(table, row_id)
    logical_name = table.logical_name
    ctx.dataset.require_write(table, row, access="DeleteAccess")
    if table.ownership != "UserOwned" and not ctx.dataset.caller.is_manager:
        raise SandboxError(403, PRIVILEGE_DENIED, f"Principal user (Id={ctx.dataset.caller.user_id}, type=8) is "
                                                  f"missing prvDelete privilege on entity '{logical_name}'.")
    _check_if_match(ctx, table, row, row_id)
    _delete_cascade(ctx, logical_name, row_id)
    ctx.org.remove_row(logical_name, row_id)
    return Response(status_code=204)
