"""The one place every sandbox write goes through: create, update, delete (with its cascades), associate and
disassociate. HTTP routes (with deep insert and single-property updates), actions (WinOpportunity, QualifyLead, ...),
`$ref` and `$batch` all call these, so the business rules and the security checks live here once.

Each function takes the caller's `SecuredDataset`, refuses a message the table does not support (table_messages:
activitypointer, activityparty and audit are not written directly), checks the caller's privileges on the record
(403 with the missing `prv<Verb><Table>` privilege), applies Dataverse's rules (defaults, state/status pairs, required
columns, system columns) and stores through `SandboxOrganization.put_row` / `remove_row` / `link` / `unlink`, which
fill the computed columns (row_rules) and record the audit log. `audit_action=` names the message for the audit log
when it is not a plain Create/Update/Delete (WinOpportunity 44, LoseOpportunity 45, QualifyLead 24). An activity's
parties (`parties=`, checked by activity_parties) are replaced together with the activity.
`system=True` runs a write as the platform does for cascades: no message, privilege or required-column check on the
cascaded rows.
"""

from __future__ import annotations

import uuid

from dataverse.sandbox.dataverse.activity_parties import replace_activity_parties
from dataverse.sandbox.dataverse.model import LookupValue, ManyToMany, Row, SandboxError, Table
from dataverse.sandbox.dataverse.payload import check_required, settle_state
from dataverse.sandbox.dataverse.privileges import privilege_denied
from dataverse.sandbox.dataverse.security import SecuredDataset
from dataverse.sandbox.dataverse.table_messages import require_supported

DUPLICATE = "0x80040237"
INVALID_ARGUMENT = "0x80040203"
RESTRICTED_DELETE = "0x80040227"


def require_create(dataset: SecuredDataset, table: Table) -> None:
    """400 0x80040800 for a table that takes no Create (activitypointer, activityparty, audit); 403 (prvCreate) for a
    rep on an organisation-owned table."""
    require_supported(table, "POST", has_key=False)
    if table.ownership != "UserOwned" and not dataset.caller.is_manager:
        raise privilege_denied(dataset.caller.user_id, "Create", table)


def create_row(dataset: SecuredDataset, table: Table, values: Row, *, row_id: str | None = None,
               parties: list[Row] | None = None, audit_action: int | None = None) -> Row:
    """Create a record owned by the caller (or the owner in `values`, which a rep may only set to themselves or
    their team), stamped with createdon/createdby, its state defaults and a version number; then its activity
    parties, when given."""
    require_create(dataset, table)
    org = dataset.org
    row_id = (row_id or values.get(table.primary_id) or str(uuid.uuid4())).lower()
    if org.get_row(table.logical_name, row_id) is not None:
        raise SandboxError(412, DUPLICATE, "A record with matching key values already exists.")
    now, caller = org.now(), LookupValue("systemuser", dataset.caller.user_id)
    row: Row = {name: None for name in table.columns}
    row.update(values)
    row[table.primary_id] = row_id
    if "ownerid" in table.columns:
        row["ownerid"] = values.get("ownerid") or caller
        row.update(createdon=now, modifiedon=now, createdby=caller, modifiedby=caller)
        owner = row["ownerid"]
        if isinstance(owner, LookupValue) and not dataset.can_assign_to(owner.id):
            raise privilege_denied(dataset.caller.user_id, "Assign", table)
    elif "createdon" in table.columns:
        row.update(createdon=now, modifiedon=now)
    settle_state(table, row)
    check_required(table, row)
    stored = org.put_row(table.logical_name, row, audit_action=audit_action)
    if parties is not None:
        replace_activity_parties(org, table, row_id, parties)
    return stored


def update_row(dataset: SecuredDataset, table: Table, existing: Row, values: Row, *, system: bool = False,
               parties: list[Row] | None = None, audit_action: int | None = None) -> Row:
    """Change columns of `existing` (and replace its activity parties, when given). A new `ownerid` is an assignment
    (the Assign privilege on the record; the new owner may be anyone). A statecode without a statuscode takes the
    state's default status."""
    if not system:
        require_supported(table, "PATCH", has_key=True)
        if not values or set(values) - {"ownerid"}:
            dataset.require_write(table, existing, "Write")
        if "ownerid" in values:
            dataset.require_write(table, existing, "Assign")
    if "ownerid" in values and values["ownerid"] is None:
        raise SandboxError(400, INVALID_ARGUMENT, "The owner of a record cannot be cleared.")
    updated = dict(existing)
    updated.update(values)
    if "statecode" in values and "statuscode" not in values:
        updated["statuscode"] = None
    settle_state(table, updated)
    if not system:
        check_required(table, updated)  # a cascade's RemoveLink clears a lookup whatever the column's level
    if "modifiedon" in table.columns:
        updated["modifiedon"] = dataset.org.now()
    if "modifiedby" in table.columns:
        updated["modifiedby"] = LookupValue("systemuser", dataset.caller.user_id)
    stored = dataset.org.put_row(table.logical_name, updated, audit_action=audit_action)
    if parties is not None:
        replace_activity_parties(dataset.org, table, str(stored[table.primary_id]), parties)
    return stored


def replace_parties(dataset: SecuredDataset, table: Table, activity: Row, parties: list[Row]) -> None:
    """Make `parties` (checked by activity_parties) the activity's parties, as `PUT <activities>(<id>)/
    <activity>_activity_parties` does: the Write privilege on the activity; the activity itself is not changed."""
    require_supported(table, "PATCH", has_key=True)
    dataset.require_write(table, activity, "Write")
    replace_activity_parties(dataset.org, table, str(activity[table.primary_id]), parties)


def delete_row(dataset: SecuredDataset, table: Table, row: Row, *, system: bool = False) -> None:
    """Delete `row` after its one-to-many cascades: Cascade deletes children, RemoveLink clears their lookup,
    Restrict refuses (0x80040227) while children exist."""
    if not system:
        require_supported(table, "DELETE", has_key=True)
        dataset.require_write(table, row, "Delete")
        if table.ownership != "UserOwned" and not dataset.caller.is_manager:
            raise privilege_denied(dataset.caller.user_id, "Delete", table)
    org = dataset.org
    row_id = str(row[table.primary_id])
    target = LookupValue(table.logical_name, row_id)
    for rel in table.one_to_many:
        if rel.referencing_entity == "activitypointer":
            continue  # a view over the activity tables, handled through them
        children = [child for child in org.all_rows(rel.referencing_entity)
                    if child.get(rel.referencing_attribute) == target]
        if not children or rel.cascade_delete == "NoCascade":
            continue
        child_table = org.table(rel.referencing_entity)
        if rel.cascade_delete == "Restrict":
            raise SandboxError(400, RESTRICTED_DELETE,
                               f"The {table.logical_name} record cannot be deleted because it is referenced by "
                               f"{len(children)} {child_table.logical_name} record(s) through '{rel.schema_name}'.")
        for child in children:
            if rel.cascade_delete == "Cascade":
                delete_row(dataset, child_table, child, system=True)
            else:
                update_row(dataset, child_table, child, {rel.referencing_attribute: None}, system=True)
    org.remove_row(table.logical_name, row_id)


def associate(dataset: SecuredDataset, relationship: ManyToMany, entity1_id: str, entity2_id: str) -> None:
    """Add the intersect row linking the two records; linking them twice is refused as a duplicate key."""
    if not dataset.org.link(relationship, entity1_id, entity2_id):
        raise SandboxError(400, DUPLICATE, "Cannot insert duplicate key.")


def disassociate(dataset: SecuredDataset, relationship: ManyToMany, entity1_id: str, entity2_id: str) -> None:
    """Remove the intersect row; removing a link that does not exist succeeds quietly, as in Dataverse."""
    dataset.org.unlink(relationship, entity1_id, entity2_id)
