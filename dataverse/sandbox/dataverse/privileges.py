"""Privilege names and the 403 Dataverse answers when a security role lacks one.

Dataverse names a privilege `prv<Verb><EntitySchemaName>` (prvWriteOpportunity, prvAssignAccount, prvAppendToContact);
activity tables share the `Activity` privileges (prvCreateActivity). The live message names the principal, the
privilege, the object type code and the table:

    Principal user (Id=<guid>, type=8) is missing prvWriteOpportunity privilege (Id=<guid>) on OTC=3 for entity
    'opportunity'.
"""

from __future__ import annotations

import uuid
from typing import Literal

from dataverse.sandbox.dataverse.metadata import OBJECT_TYPE_CODES
from dataverse.sandbox.dataverse.model import SandboxError, Table

PRIVILEGE_DENIED = "0x80040220"
Verb = Literal["Create", "Read", "Write", "Delete", "Assign", "Share", "Append", "AppendTo"]

_NAMESPACE = uuid.UUID("5a1d0c1e-7c55-4b8e-9d3a-70b1f0e0a220")
_SCHEMA_NAMES = {
    "opportunityclose": "OpportunityClose", "phonecall": "PhoneCall", "systemuser": "SystemUser",
    "businessunit": "BusinessUnit", "usersettings": "UserSettings", "activitypointer": "ActivityPointer",
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
