"""Privilege names, the security roles' miscellaneous privileges, and the 403 Dataverse answers when a role lacks one.

Record privileges: Dataverse names them `prv<Verb><EntitySchemaName>` (prvWriteOpportunity, prvAssignAccount,
prvAppendToContact); activity tables share the `Activity` privileges (prvCreateActivity). Record access itself (read
what you own, what your team owns or what was shared; managers read everything) stays in security.py. The live
message names the principal, the privilege, the object type code and the table:

    Principal user (Id=<guid>, type=8) is missing prvWriteOpportunity privilege (Id=<guid>) on OTC=3 for entity
    'opportunity'.

Miscellaneous privileges (not tied to one record) are held through roles (`PrivilegeTable`): prvReadRecordAuditHistory
("View Audit History": needed for RetrieveRecordChangeHistory) and prvReadAuditSummary ("View Audit Summary": needed
to read the `audits` table). The seeded users' roles: alice is a Salesperson with the Audit Viewer role, bob a
Salesperson only (so he is the user who may not read change history or the audit log), carol a Sales Manager with the
Audit Viewer role. Tests change a user's roles through `org.privileges.roles[user_id]`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Literal

from dataverse.sandbox.dataverse.metadata import OBJECT_TYPE_CODES
from dataverse.sandbox.dataverse.model import SandboxError, Table
from dataverse.sandbox.users import ALICE, BOB, CAROL

PRIVILEGE_DENIED = "0x80040220"
READ_RECORD_AUDIT_HISTORY = "prvReadRecordAuditHistory"
READ_AUDIT_SUMMARY = "prvReadAuditSummary"
Verb = Literal["Create", "Read", "Write", "Delete", "Assign", "Share", "Append", "AppendTo"]

_NAMESPACE = uuid.UUID("5a1d0c1e-7c55-4b8e-9d3a-70b1f0e0a220")
_SCHEMA_NAMES = {
    "opportunityclose": "OpportunityClose", "phonecall": "PhoneCall", "systemuser": "SystemUser",
    "businessunit": "BusinessUnit", "usersettings": "UserSettings", "activitypointer": "ActivityPointer",
    "activityparty": "ActivityParty", "savedquery": "SavedQuery", "userquery": "UserQuery",
}

ROLE_PRIVILEGES: Mapping[str, frozenset[str]] = {
    "Salesperson": frozenset(),
    "Sales Manager": frozenset(),
    "Audit Viewer": frozenset({READ_RECORD_AUDIT_HISTORY, READ_AUDIT_SUMMARY}),
}
SEEDED_ROLES: Mapping[str, tuple[str, ...]] = {
    ALICE.systemuser_id: ("Salesperson", "Audit Viewer"),
    BOB.systemuser_id: ("Salesperson",),
    CAROL.systemuser_id: ("Sales Manager", "Audit Viewer"),
}


def entity_schema_name(table: Table) -> str:
    """The table's SchemaName: `Opportunity`, `PhoneCall`, `OpportunityClose`."""
    return _SCHEMA_NAMES.get(table.logical_name, table.logical_name[:1].upper() + table.logical_name[1:])


def privilege_name(verb: Verb, table: Table) -> str:
    """`prvWriteOpportunity`; activities use the shared Activity privileges (`prvCreateActivity`)."""
    activity = table.is_activity or table.logical_name == "activitypointer"
    return f"prv{verb}{'Activity' if activity else entity_schema_name(table)}"


def privilege_id(name: str) -> str:
    """A stable id per privilege name (real ids differ per organisation only for custom tables)."""
    return str(uuid.uuid5(_NAMESPACE, name))


def privilege_denied(user_id: str, verb: Verb, table: Table) -> SandboxError:
    """The 403 (0x80040220) for a caller whose roles lack `verb` on `table` at the depth the record needs."""
    name = privilege_name(verb, table)
    code = OBJECT_TYPE_CODES.get(table.logical_name, 10000)
    return SandboxError(403, PRIVILEGE_DENIED,
                        f"Principal user (Id={user_id}, type=8) is missing {name} privilege (Id={privilege_id(name)}) "
                        f"on OTC={code} for entity '{table.logical_name}'.")


class PrivilegeTable:
    """Which security roles each user holds, and so which miscellaneous privileges they have."""

    def __init__(self) -> None:
        self.roles: dict[str, tuple[str, ...]] = dict(SEEDED_ROLES)

    def has(self, user_id: str, privilege: str) -> bool:
        return any(privilege in ROLE_PRIVILEGES.get(role, frozenset()) for role in self.roles.get(user_id, ()))

    def require(self, user_id: str, privilege: str) -> None:
        """Raise Dataverse's 403 PrivilegeDenied when `user_id` lacks `privilege`."""
        if not self.has(user_id, privilege):
            raise SandboxError(403, PRIVILEGE_DENIED,
                               f"Principal user (Id={user_id}, type=8) is missing {privilege} privilege "
                               f"(Id={privilege_id(privilege)})")
