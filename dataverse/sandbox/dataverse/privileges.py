"""The miscellaneous privileges of the sandbox's security roles (the ones not tied to one record), and the 403 that a
missing one answers with.

Record access (read what you own, what your team owns or what was shared; managers read everything) stays in
security.py. What lives here are privileges such as prvReadRecordAuditHistory ("View Audit History": needed for
RetrieveRecordChangeHistory) and prvReadAuditSummary ("View Audit Summary": needed to read the `audits` table).

The seeded users' roles: alice is a Salesperson with the Audit Viewer role, bob a Salesperson only (so he is the
user who may not read change history or the audit log), carol a Sales Manager with the Audit Viewer role.
Tests change a user's roles through `org.privileges.roles[user_id]`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from dataverse.sandbox.dataverse.model import SandboxError
from dataverse.sandbox.users import ALICE, BOB, CAROL

READ_RECORD_AUDIT_HISTORY = "prvReadRecordAuditHistory"
READ_AUDIT_SUMMARY = "prvReadAuditSummary"
PRIVILEGE_DENIED = "0x80040220"
_PRIVILEGE_NAMESPACE = uuid.UUID("5a1d3c9e-7b0f-4c2e-8f61-0c3d2b1a9e77")

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


def privilege_id(name: str) -> str:
    """A stable id for a privilege (real ids differ per privilege, not per organisation)."""
    return str(uuid.uuid5(_PRIVILEGE_NAMESPACE, name))


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
