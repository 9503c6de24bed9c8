"""The timeline tables besides the activities themselves: `activityparty` (who an activity involves, and how) and
`annotation` (notes and attachments on a record), with the relationships Dataverse names for them: the per-activity
`<activity>_activity_parties` collections (`activityid_<activity>` on the party), the party's typed
`partyid_<table>` navigations, and `<Table>_Annotation` with the note's typed `objectid_<table>`.

Columns and option values follow the table references (PD `reference/entities/activityparty.md`, `annotation.md`).
"""

from __future__ import annotations

from dataverse.sandbox.dataverse.model import Column, Option, Table
from dataverse.sandbox.dataverse.schema_columns import (
    boolean,
    choice,
    columns_by_name,
    lookup,
    owned_columns,
    primary_key,
    text,
    versionnumber,
)
from dataverse.sandbox.dataverse.schema_relationships import REGARDING_TARGETS, Relationship

PARTY_ACTIVITIES = ("appointment", "task", "phonecall", "email")
PARTY_TARGETS = ("account", "contact", "lead", "systemuser")
NOTE_TARGETS = REGARDING_TARGETS
PARTICIPATION_TYPES = (
    Option(1, "Sender"), Option(2, "To Recipient"), Option(3, "CC Recipient"), Option(4, "BCC Recipient"),
    Option(5, "Required attendee"), Option(6, "Optional attendee"), Option(7, "Organizer"), Option(8, "Regarding"),
    Option(9, "Owner"), Option(10, "Resource"), Option(11, "Customer"), Option(12, "Chat Participant"),
)
_SCHEMA_PREFIX = {"account": "Account", "contact": "Contact", "opportunity": "Opportunity", "lead": "Lead"}
_PARTY_RELATIONSHIPS = {"account": "account_activity_parties", "contact": "contact_activity_parties",
                        "lead": "lead_activity_parties", "systemuser": "system_user_activity_parties"}


def timeline_tables() -> list[Table]:
    activityparty = Table(
        "activityparty", "activityparties", "Activity Party", "Activity Parties", "activitypartyid", "partyidname",
        columns_by_name(
            primary_key("activitypartyid", "Activity Party"),
            lookup("activityid", "Activity", ("activitypointer",), required="SystemRequired", update=False),
            lookup("partyid", "Party", PARTY_TARGETS),
            text("partyidname", "Party Name", max_length=400, create=False, update=False),
            choice("participationtypemask", "Participation Type", PARTICIPATION_TYPES),
            text("addressused", "Address", max_length=200),
            versionnumber(),
        ),
        ownership="None",
    )
    annotation = Table(
        "annotation", "annotations", "Note", "Notes", "annotationid", "subject",
        columns_by_name(
            primary_key("annotationid", "Note"),
            text("subject", "Title", max_length=500),
            Column("notetext", "Memo", "Description", max_length=100_000),
            boolean("isdocument", "Is Document", true_label="Yes", false_label="No"),
            text("filename", "File Name", max_length=255),
            text("mimetype", "Mime Type", max_length=256),
            Column("documentbody", "Memo", "Document", max_length=None, audit_enabled=False),
            Column("filesize", "Integer", "File Size (Bytes)", valid_for_create=False, valid_for_update=False),
            lookup("objectid", "Regarding", NOTE_TARGETS),
            text("objecttypecode", "Object Type", max_length=None, update=False, kind="EntityName"),
            *owned_columns(),
        ),
    )
    return [activityparty, annotation]


def timeline_relationships(tables: dict[str, Table]) -> list[Relationship]:
    """The activity-party and note relationships (polymorphic lookups give one per target)."""
    found: list[Relationship] = []
    for activity in PARTY_ACTIVITIES:
        if activity in tables:
            found.append(Relationship(f"{activity}_activity_parties", "activityparty", "activityid", activity,
                                      f"activityid_{activity}", f"{activity}_activity_parties", "Cascade"))
    for target, name in _PARTY_RELATIONSHIPS.items():
        found.append(Relationship(name, "activityparty", "partyid", target, f"partyid_{target}", name, "RemoveLink"))
    for target in NOTE_TARGETS:
        name = f"{_SCHEMA_PREFIX[target]}_Annotation"
        found.append(Relationship(name, "annotation", "objectid", target, f"objectid_{target}", name, "Cascade"))
    return found
