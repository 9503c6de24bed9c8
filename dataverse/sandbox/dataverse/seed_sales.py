"""Sample rows for the sales tables, added after the core sample data without drawing from its random stream (so
the core rows stay as they were): competitors, marketing lists, and a few N:N links (alice's first open
opportunities face a competitor; each rep's list holds some of their contacts)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dataverse.sandbox.dataverse.model import LookupValue, ManyToMany, Row
from dataverse.sandbox.dataverse.schema_sales import MANY_TO_MANY
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.users import ALICE, BOB, CAROL, SandboxUser

_NAMESPACE = uuid.UUID("c0a1e5a1-0000-4000-8000-00000000c0de")
COMPETITORS = (
    ("Fabrikam Software", "https://fabrikam-software.example", 125_000_000.0),
    ("Adatum Systems", "https://adatum.example", 48_000_000.0),
    ("Trey Analytics", "https://trey-analytics.example", 9_500_000.0),
    ("Woodgrove Digital", "https://woodgrove-digital.example", 310_000_000.0),
)
LISTS = (("Spring webinar invitees", ALICE), ("Trade show follow-up", BOB), ("Key accounts newsletter", CAROL))


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _relationship(schema_name: str) -> ManyToMany:
    return next(rel for rel in MANY_TO_MANY if rel.schema_name == schema_name)


def _owned(org: SandboxOrganization, table: str, user: SandboxUser, limit: int, **where: int) -> list[Row]:
    rows = [row for row in org.rows[table].values() if row["ownerid"].id == user.systemuser_id
            and all(row.get(key) == value for key, value in where.items())]
    return rows[:limit]


def seed_sales(org: SandboxOrganization) -> None:
    """Add competitors, marketing lists and their links to a seeded organisation."""
    created = org.now() - timedelta(days=400)
    competitors = []
    for name, website, revenue in COMPETITORS:
        competitors.append(org.put_row("competitor", {
            "competitorid": _id("competitor", name), "name": name, "websiteurl": website, "reportedrevenue": revenue,
            "strengths": None, "weaknesses": None, "createdon": created, "modifiedon": created}))
    facing = _relationship("opportunitycompetitors_association")
    for index, opportunity in enumerate(_owned(org, "opportunity", ALICE, 3, statecode=0)):
        org.link(facing, opportunity["opportunityid"], competitors[index % 2]["competitorid"])
    members = _relationship("listcontact_association")
    for name, owner in LISTS:
        user = LookupValue("systemuser", owner.systemuser_id)
        contacts = _owned(org, "contact", owner, 4)
        row = org.put_row("list", {
            "listid": _id("list", name), "listname": name, "createdfromcode": 2, "type": False, "purpose": None,
            "description": None, "membercount": len(contacts), "statecode": 0, "statuscode": 0, "ownerid": user,
            "createdon": created, "modifiedon": created, "createdby": user, "modifiedby": user})
        for contact in contacts:
            org.link(members, row["listid"], contact["contactid"])
