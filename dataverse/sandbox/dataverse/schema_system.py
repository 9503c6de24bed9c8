"""The system tables the sandbox serves besides the directory: `savedquery` (system views, organisation-owned),
`userquery` (personal views, user-owned), `audit` (the change log, read-only) and `organization` (the environment's
settings, among them `isauditenabled`), with the relationships Dataverse gives them (`lk_audit_userid`,
`lk_audit_callinguserid`).

Columns, option values and lengths follow the table references (PD `reference/entities/savedquery.md`,
`userquery.md`, `audit.md`, `organization.md`).
"""

from __future__ import annotations

import dataclasses

from dataverse.sandbox.dataverse.model import Column, Option, Table
from dataverse.sandbox.dataverse.schema_columns import (
    boolean,
    columns_by_name,
    datetime_column,
    integer,
    lookup,
    owned_columns,
    primary_key,
    state,
    status,
    text,
    versionnumber,
)
from dataverse.sandbox.dataverse.schema_relationships import Relationship

AUDIT_ACTIONS = (
    (0, "Unknown"), (1, "Create"), (2, "Update"), (3, "Delete"), (4, "Activate"), (5, "Deactivate"), (11, "Cascade"),
    (12, "Merge"), (13, "Assign"), (14, "Share"), (15, "Retrieve"), (16, "Close"), (17, "Cancel"), (18, "Complete"),
    (20, "Resolve"), (21, "Reopen"), (22, "Fulfill"), (23, "Paid"), (24, "Qualify"), (25, "Disqualify"),
    (26, "Submit"), (27, "Reject"), (28, "Approve"), (29, "Invoice"), (30, "Hold"), (31, "Add Member"),
    (32, "Remove Member"), (33, "Associate Entities"), (34, "Disassociate Entities"), (35, "Add Members"),
    (36, "Remove Members"), (37, "Add Item"), (38, "Remove Item"), (39, "Add Substitute"), (40, "Remove Substitute"),
    (41, "Set State"), (42, "Renew"), (43, "Revise"), (44, "Win"), (45, "Lose"), (46, "Internal Processing"),
    (47, "Reschedule"), (48, "Modify Share"), (49, "Unshare"), (50, "Book"), (51, "Generate Quote From Opportunity"),
    (52, "Add To Queue"), (53, "Assign Role To Team"), (54, "Remove Role From Team"), (55, "Assign Role To User"),
    (56, "Remove Role From User"), (57, "Add Privileges to Role"), (58, "Remove Privileges From Role"),
    (59, "Replace Privileges In Role"), (60, "Import Mappings"), (61, "Clone"), (62, "Send Direct Email"),
    (63, "Enabled for organization"), (64, "User Access via Web"), (65, "User Access via Web Services"),
    (100, "Delete Entity"), (101, "Delete Attribute"), (102, "Audit Change at Entity Level"),
    (103, "Audit Change at Attribute Level"), (104, "Audit Change at Org Level"), (105, "Entity Audit Started"),
    (106, "Attribute Audit Started"), (107, "Audit Enabled"), (108, "Entity Audit Stopped"),
    (109, "Attribute Audit Stopped"), (110, "Audit Disabled"), (111, "Audit Log Deletion"),
    (112, "User Access Audit Started"), (113, "User Access Audit Stopped"),
)
AUDIT_OPERATIONS = ((1, "Create"), (2, "Update"), (3, "Delete"), (4, "Access"))
SAVED_QUERY_STATES = (Option(0, "Active"), Option(1, "Inactive"))


def _memo(name: str, display: str, *, required: bool = False) -> Column:
    return Column(name, "Memo", display, required="SystemRequired" if required else "None", max_length=None)


def _read_only(column: Column) -> Column:
    return dataclasses.replace(column, valid_for_create=False, valid_for_update=False)


def _view_columns() -> tuple[Column, ...]:
    """What savedquery and userquery share: the query, its layout and what it returns."""
    return (
        text("name", "Name", max_length=200, required="SystemRequired"),
        Column("description", "Memo", "Description", max_length=2000),
        _memo("fetchxml", "Fetch XML", required=True),
        _memo("layoutxml", "Layout XML"),
        _memo("layoutjson", "Layout JSON"),
        _memo("columnsetxml", "Column Set XML"),
        text("returnedtypecode", "Returned Type", max_length=None, required="SystemRequired", update=False,
             kind="EntityName"),
        Column("querytype", "Integer", "Query Type", required="SystemRequired", valid_for_update=False),
    )


def system_tables() -> list[Table]:
    savedquery = Table(
        "savedquery", "savedqueries", "View", "Views", "savedqueryid", "name",
        columns_by_name(
            primary_key("savedqueryid", "View"),
            *_view_columns(),
            boolean("isdefault", "Default", true_label="Yes", false_label="No"),
            boolean("isquickfindquery", "Is Quick Find Query", true_label="Yes", false_label="No"),
            state(SAVED_QUERY_STATES),
            status((Option(1, "Active", 0), Option(2, "Inactive", 1))),
            _read_only(datetime_column("createdon", "Created On")),
            _read_only(datetime_column("modifiedon", "Modified On")),
            _read_only(lookup("createdby", "Created By", ("systemuser",))),
            _read_only(lookup("modifiedby", "Modified By", ("systemuser",))),
            versionnumber(),
        ),
        ownership="OrganizationOwned",
    )
    userquery = Table(
        "userquery", "userqueries", "Saved View", "Saved Views", "userqueryid", "name",
        columns_by_name(
            primary_key("userqueryid", "User Query"),
            *_view_columns(),
            state(SAVED_QUERY_STATES),
            status((Option(1, "Active", 0), Option(2, "Inactive", 1), Option(3, "All", 0))),
            *owned_columns(),
        ),
    )
    audit = Table(
        "audit", "audits", "Auditing", "Audits", "auditid", "",
        {name: _read_only(column) for name, column in columns_by_name(
            primary_key("auditid", "Record Id"),
            Column("action", "Picklist", "Event", required="ApplicationRequired",
                   options=tuple(Option(value, label) for value, label in AUDIT_ACTIONS)),
            Column("operation", "Picklist", "Operation", required="SystemRequired",
                   options=tuple(Option(value, label) for value, label in AUDIT_OPERATIONS)),
            lookup("objectid", "Record", (), required="SystemRequired"),
            text("objecttypecode", "Entity", max_length=None, kind="EntityName"),
            lookup("userid", "Changed By", ("externalparty", "systemuser"), required="SystemRequired"),
            lookup("callinguserid", "Calling User", ("systemuser",)),
            datetime_column("createdon", "Changed Date"),
            Column("attributemask", "Memo", "Changed Field", max_length=2000),
            text("transactionid", "Transaction Id", max_length=None, kind="Uniqueidentifier"),
            text("useradditionalinfo", "User Info", max_length=350),
        ).items()},
        ownership="None",
    )
    organization = Table(
        "organization", "organizations", "Organization", "Organizations", "organizationid", "name",
        columns_by_name(
            primary_key("organizationid", "Organization"),
            text("name", "Organization Name", max_length=160, required="SystemRequired", update=False),
            boolean("isauditenabled", "Is Auditing Enabled", true_label="Yes", false_label="No"),
            integer("auditretentionperiodv2", "Audit Retention Period Settings"),
            boolean("isuseraccessauditenabled", "Is User Access Auditing Enabled", true_label="Yes",
                    false_label="No"),
            _read_only(datetime_column("createdon", "Created On")),
            _read_only(datetime_column("modifiedon", "Modified On")),
            versionnumber(),
        ),
        ownership="OrganizationOwned",
    )
    return [savedquery, userquery, audit, organization]


def system_relationships(tables: dict[str, Table]) -> list[Relationship]:
    """The audit log's two relationships with systemuser (the only ones it has)."""
    if "audit" not in tables:
        return []
    return [
        Relationship("lk_audit_userid", "audit", "userid", "systemuser", "userid", "lk_audit_userid", "NoCascade"),
        Relationship("lk_audit_callinguserid", "audit", "callinguserid", "systemuser", "callinguserid",
                     "lk_audit_callinguserid", "NoCascade"),
    ]
