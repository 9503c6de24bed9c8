"""Sample values for the columns and tables schema_documented adds, so the documented example queries return sensible
rows: account categories, street lines and coordinates; contacts' annual income; security roles in the business
unit; and a few emails regarding accounts.

Everything here is derived from ids the main seed already drew (or from fixed names), never from its random
generator, so adding it changed no existing id or value.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from dataverse.sandbox.dataverse.model import LookupValue, Row
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.users import ALICE

ROLE_NAMES = ("System Administrator", "Sales Manager", "Salesperson")
_NAMESPACE = uuid.UUID("6f1c9b0e-3a52-4d7e-9c1f-5b2a8e7d4c30")
STREETS = ("Maple St.", "1st Ave", "High Street", "Hauptstrasse", "Rue de Rivoli", "King St W", "George St")


def _number(row_id: str, modulus: int) -> int:
    """A stable number in [0, modulus) from a row's id."""
    return int(row_id.replace("-", "")[:8], 16) % modulus


def _seed_account_columns(org: SandboxOrganization) -> None:
    for account in org.rows["account"].values():
        number = _number(str(account["accountid"]), 10_000)
        account["accountcategorycode"] = 1 if number % 3 == 0 else 2
        account["address1_line1"] = f"{100 + number % 900} {STREETS[number % len(STREETS)]}"
        account["address1_latitude"] = round(-60 + (number % 12_000) / 100, 5)
        account["address1_longitude"] = round(-170 + (number * 7 % 34_000) / 100, 5)


def _seed_contact_columns(org: SandboxOrganization) -> None:
    for contact in org.rows["contact"].values():
        contact["annualincome"] = float(20_000 + _number(str(contact["contactid"]), 140) * 500)


def _seed_roles(org: SandboxOrganization) -> None:
    created = org.now() - timedelta(days=800)
    for name in ROLE_NAMES:
        org.put_row("role", {"roleid": str(uuid.uuid5(_NAMESPACE, f"role/{name}")), "name": name,
                             "businessunitid": LookupValue("businessunit", org.business_unit_id),
                             "createdon": created, "modifiedon": created})


def _seed_emails(org: SandboxOrganization) -> None:
    """One email regarding every third account; the main seed's quiet accounts (every fifth) keep having no activity
    in the last 30 days, and every email is at most 90 days old, as seed.py promises for all activities."""
    for index, account in enumerate(org.rows["account"].values()):
        if index % 3:
            continue
        owner = account["ownerid"] if account["ownerid"].table == "systemuser" else LookupValue("systemuser",
                                                                                               ALICE.systemuser_id)
        incoming = index % 2 == 1
        age = 31 + index % 50 if index % 5 == 4 else 1 + index % 25
        sent = org.now() - timedelta(days=age, hours=index % 7)
        row: Row = {
            "activityid": str(uuid.uuid5(_NAMESPACE, f"email/{account['accountid']}")),
            "subject": f"{'Re: ' if incoming else ''}Proposal for {account['name']}",
            "description": f"Pricing and next steps for {account['name']}.",
            "regardingobjectid": LookupValue("account", str(account["accountid"])),
            "directioncode": not incoming, "sender": account["emailaddress1"] if incoming else None,
            "torecipients": None if incoming else account["emailaddress1"], "prioritycode": 1,
            "scheduledstart": None, "scheduledend": None, "actualend": sent,
            "statecode": 1, "statuscode": 4 if incoming else 3,
            "ownerid": owner, "createdon": sent, "modifiedon": sent, "createdby": owner, "modifiedby": owner,
        }
        org.put_row("email", row)


def seed_documented(org: SandboxOrganization) -> None:
    """Add the documented examples' columns and rows to an organisation the main seed filled."""
    _seed_account_columns(org)
    _seed_contact_columns(org)
    _seed_roles(org)
    _seed_emails(org)
