"""Sample values for the columns and tables schema_documented adds, so the documented example queries return sensible
rows: account categories, street lines and coordinates; contacts' annual income; security roles in the business
unit; and a few emails regarding accounts, with their sender and recipient as activity parties and their Create in
the seeded history.

Everything here is derived from ids the main seed already drew (or from fixed names), never from its random
generator, and it runs last, so adding it changed no existing id or value (rows, versions, parties, audit entries).
The accounts the timeline adds to be active only through their contacts and deals (seed_timeline.NEW_ACCOUNTS) get
no email regarding themselves.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from dataverse.sandbox.dataverse.model import LookupValue, Row
from dataverse.sandbox.dataverse.seed_history import seed_created_history
from dataverse.sandbox.dataverse.seed_timeline import NEW_ACCOUNTS
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
    """One email regarding every third account of the main seed; its quiet accounts (every fifth) keep having no
    activity in the last 30 days, and every email is at most 90 days old, as seed.py promises for all activities."""
    emails: list[Row] = []
    for index, account in enumerate(list(org.rows["account"].values())):
        if index % 3 or account["name"] in NEW_ACCOUNTS:
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
        emails.append(org.put_row("email", row))
        _seed_parties(org, row, owner, LookupValue("account", str(account["accountid"])), account["emailaddress1"])
    seed_created_history(org, "email", emails)


def _seed_parties(org: SandboxOrganization, email: Row, user: LookupValue, account: LookupValue,
                  address: str | None) -> None:
    """The email's Sender (1) and To Recipient (2): the owner and the account, whichever way the email went."""
    sender, recipient = (user, account) if email["directioncode"] else (account, user)
    for party, mask in ((sender, 1), (recipient, 2)):
        org.put_row("activityparty", {
            "activitypartyid": str(uuid.uuid5(_NAMESPACE, f"activityparty/{email['activityid']}/{mask}")),
            "activityid": LookupValue("email", str(email["activityid"])), "partyid": party,
            "participationtypemask": mask, "addressused": address if party == account else None,
        })


def seed_documented(org: SandboxOrganization) -> None:
    """Add the documented examples' columns and rows to an organisation the main seed filled."""
    _seed_account_columns(org)
    _seed_contact_columns(org)
    _seed_roles(org)
    _seed_emails(org)
