"""The seeded timeline, drawn after the rest of the seed (so the earlier sample data keeps its values): activities
(tasks, phone calls, appointments, emails) regarding opportunities and contacts, their activity parties, and notes.

Guarantees the tests and demos lean on, over the last 90 days:
- open opportunities fall in three groups by position: worked on in the last 14 days, worked on only before that,
  never worked on; so "stale opportunities" (no activity in 14 days) is a strict, non-empty part of the open ones;
  some activities on reps' deals are carol's (the manager's), visible to her and not to the rep;
- every fourth contact has an activity, and six accounts ("... Asia") have activity only through their contacts and
  their opportunity, none regarding the account itself;
- appointments, phone calls and emails have parties (organizer/attendee, sender/recipient: the owner and a contact);
- accounts, contacts and opportunities carry notes, some of them attachments.
"""

from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta

from dataverse.sandbox.dataverse.model import LookupValue, Row
from dataverse.sandbox.dataverse.row_rules import STEP_NAMES
from dataverse.sandbox.dataverse.seed_support import at, new_id, stamp, user_ref
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.users import ALICE, BOB, CAROL

NEW_ACCOUNTS = ("Northwind Traders Asia", "Fabrikam Asia", "Litware Asia", "Tailspin Toys Asia", "Relecloud Asia",
                "VanArsdel Asia")
KINDS = ("phonecall", "task", "email", "appointment")
NOTE_TEXTS = ("Budget confirmed for next quarter.", "Prefers email over calls.", "Decision maker is the CFO.",
              "Asked for a reference customer.", "Competitor is offering a discount.", "Renewal due in spring.")


def seed_timeline(org: SandboxOrganization, rng: random.Random) -> None:
    _seed_accounts_reached_through_others(org, rng)
    _seed_opportunity_activities(org, rng)
    _seed_contact_activities(org, rng)
    _seed_parties(org, rng)
    _seed_notes(org, rng)


def _owner_id(row: Row) -> str:
    """The owning user (a team-owned record's activities are alice's, as the existing seed does)."""
    owner = row["ownerid"]
    return str(owner.id) if owner.table == "systemuser" else ALICE.systemuser_id


def _ago(org: SandboxOrganization, rng: random.Random, low: int, high: int) -> datetime:
    return at(org.now().date() - timedelta(days=rng.randrange(low, high)), rng)


def _add_activity(org: SandboxOrganization, rng: random.Random, kind: str, regarding: LookupValue, about: str,
                  owner_id: str, created: datetime) -> Row:
    now = org.now()
    row: Row = {"activityid": new_id(rng), "regardingobjectid": regarding, "prioritycode": rng.choice((0, 1, 1, 2)),
                "description": None}
    if kind == "task":
        done = created < now - timedelta(days=7) or rng.random() < 0.4
        row.update(subject=f"Follow up: {about}", scheduledend=created + timedelta(days=7),
                   percentcomplete=100 if done else 0, statecode=1 if done else 0, statuscode=5 if done else 3,
                   actualend=created + timedelta(days=2) if done else None)
    elif kind == "phonecall":
        outgoing = rng.random() < 0.7
        row.update(subject=f"Call about {about}", phonenumber=f"+1-555-01{rng.randrange(10, 99)}",
                   directioncode=outgoing, actualend=created + timedelta(minutes=20), statecode=1,
                   statuscode=2 if outgoing else 4)
    elif kind == "email":
        outgoing = rng.random() < 0.6
        row.update(subject=f"{'Proposal' if outgoing else 'RE: Questions'}: {about}", directioncode=outgoing,
                   description="Thanks for your time today. Details as discussed.", actualend=created,
                   statecode=1, statuscode=3 if outgoing else 4)
    else:
        start = created + timedelta(days=rng.randrange(1, 10))
        held = start + timedelta(hours=1) < now
        row.update(subject=f"Meeting: {about}", scheduledstart=start, scheduledend=start + timedelta(hours=1),
                   location=rng.choice(("Online", "On site")), statecode=1 if held else 3,
                   statuscode=3 if held else 5, actualend=start + timedelta(hours=1) if held else None)
    stamp(org, row, created, user_ref(owner_id), owner_id)
    return org.put_row(kind, row)


def _seed_accounts_reached_through_others(org: SandboxOrganization, rng: random.Random) -> None:
    today = org.now().date()
    owners = (ALICE, BOB, CAROL)
    for index, name in enumerate(NEW_ACCOUNTS):
        owner = owners[index % 3]
        account: Row = {
            "accountid": new_id(rng), "name": name, "accountnumber": f"AC-{10060 + index}",
            "revenue": float(rng.randrange(2, 900) * 50_000), "numberofemployees": rng.randrange(5, 5_000),
            "industrycode": rng.choice((6, 7, 16, 29)), "telephone1": f"+65-555-{rng.randrange(1000, 9999)}",
            "emailaddress1": f"info@{name.split()[0].lower()}-asia.example", "websiteurl": None,
            "address1_city": "Singapore", "address1_country": "Singapore", "description": None,
            "creditonhold": False, "primarycontactid": None, "parentaccountid": None, "statecode": 0, "statuscode": 1,
        }
        stamp(org, account, at(today - timedelta(days=rng.randrange(100, 300)), rng), user_ref(owner.systemuser_id),
              owner.systemuser_id)
        org.put_row("account", account)
        reference = LookupValue("account", account["accountid"])
        contacts = []
        for number in range(2):
            first, last = rng.choice(("Mei", "Arjun", "Siti", "Kenji")), rng.choice(("Tan", "Lim", "Wong", "Ng"))
            contact: Row = {
                "contactid": new_id(rng), "firstname": first, "lastname": last,
                "emailaddress1": f"{first.lower()}.{last.lower()}@{name.split()[0].lower()}-asia.example",
                "jobtitle": ("Purchasing Manager", "IT Director")[number], "telephone1": None, "mobilephone": None,
                "parentcustomerid": reference, "birthdate": None, "donotemail": False,
                "preferredcontactmethodcode": 2, "statecode": 0, "statuscode": 1,
            }
            stamp(org, contact, account["createdon"] + timedelta(days=3), account["ownerid"], owner.systemuser_id)
            contacts.append(org.put_row("contact", contact))
        account["primarycontactid"] = LookupValue("contact", contacts[0]["contactid"])
        stage = rng.randrange(3)
        opportunity: Row = {
            "opportunityid": new_id(rng), "name": f"{name} - Regional rollout", "customerid": reference,
            "parentaccountid": reference, "parentcontactid": LookupValue("contact", contacts[0]["contactid"]),
            "estimatedvalue": float(rng.randrange(40, 400) * 500),
            "estimatedclosedate": today + timedelta(days=rng.randrange(10, 60)), "actualvalue": None,
            "actualclosedate": None, "closeprobability": (10, 30, 60)[stage], "stepname": STEP_NAMES[stage],
            "salesstage": stage, "opportunityratingcode": 1, "description": None, "statecode": 0, "statuscode": 1,
        }
        stamp(org, opportunity, _ago(org, rng, 30, 60), user_ref(owner.systemuser_id), owner.systemuser_id)
        org.put_row("opportunity", opportunity)
        _add_activity(org, rng, KINDS[index % 4], LookupValue("contact", contacts[1]["contactid"]),
                      contacts[1]["fullname"], owner.systemuser_id, _ago(org, rng, 0, 10))
        _add_activity(org, rng, KINDS[(index + 1) % 4], LookupValue("opportunity", opportunity["opportunityid"]),
                      opportunity["name"], owner.systemuser_id, _ago(org, rng, 0, 10))


def _seed_opportunity_activities(org: SandboxOrganization, rng: random.Random) -> None:
    for index, opportunity in enumerate(list(org.rows["opportunity"].values())):
        regarding = LookupValue("opportunity", opportunity["opportunityid"])
        owner_id = _owner_id(opportunity)
        if opportunity["statecode"] != 0:
            ages = [(20, 90)] if index % 2 == 0 else []
        elif opportunity["name"].endswith("Regional rollout"):
            continue  # the "... Asia" deals already have theirs
        else:
            ages = [[(0, 13), (20, 90)], [(15, 90)], []][index % 3]
        for number, (low, high) in enumerate(ages):
            author = CAROL.systemuser_id if (index + number) % 10 == 5 else owner_id
            _add_activity(org, rng, KINDS[(index + number) % 4], regarding, opportunity["name"], author,
                          _ago(org, rng, low, high))


def _seed_contact_activities(org: SandboxOrganization, rng: random.Random) -> None:
    asia = _asia_account_ids(org)
    for index, contact in enumerate(list(org.rows["contact"].values())):
        if index % 4 != 0 or str(contact["parentcustomerid"].id) in asia:
            continue
        _add_activity(org, rng, ("phonecall", "email")[index % 8 // 4], LookupValue("contact", contact["contactid"]),
                      contact["fullname"], _owner_id(contact), _ago(org, rng, 0, 90))


def _asia_account_ids(org: SandboxOrganization) -> set[str]:
    return {str(row["accountid"]) for row in org.rows["account"].values() if row["name"] in NEW_ACCOUNTS}


def _contact_for(org: SandboxOrganization, regarding: LookupValue | None) -> Row | None:
    """The person an activity about `regarding` is with: the contact, the account's primary contact, or the
    opportunity's contact."""
    if regarding is None:
        return None
    row = org.get_row(regarding.table, regarding.id)
    if row is None:
        return None
    if regarding.table == "contact":
        return row
    contact = row.get("primarycontactid") if regarding.table == "account" else row.get("parentcontactid")
    return org.get_row("contact", contact.id) if isinstance(contact, LookupValue) else None


def _seed_parties(org: SandboxOrganization, rng: random.Random) -> None:
    for kind in ("appointment", "phonecall", "email"):
        for activity in list(org.rows[kind].values()):
            user = LookupValue("systemuser", _owner_id(activity))
            contact = _contact_for(org, activity.get("regardingobjectid"))
            person = LookupValue("contact", contact["contactid"]) if contact else None
            if kind == "appointment":
                parties = [(user, 7, None)] + ([(person, 5, None)] if person else [])
            else:
                address = contact.get("emailaddress1") if contact and kind == "email" else None
                sender, recipient = (user, person) if activity.get("directioncode") else (person, user)
                parties = [(party, mask, address if party == person else None)
                           for party, mask in ((sender, 1), (recipient, 2)) if party is not None]
            for party, mask, address in parties:
                org.put_row("activityparty", {
                    "activitypartyid": new_id(rng), "activityid": LookupValue(kind, activity["activityid"]),
                    "partyid": party, "participationtypemask": mask, "addressused": address,
                })


def _seed_notes(org: SandboxOrganization, rng: random.Random) -> None:
    targets = [("account", row) for index, row in enumerate(org.rows["account"].values()) if index % 3 == 0]
    targets += [("contact", row) for index, row in enumerate(org.rows["contact"].values()) if index % 6 == 1]
    targets += [("opportunity", row) for index, row in enumerate(org.rows["opportunity"].values())
                if index % 2 == 0 and row["statecode"] == 0]
    for number, (table, record) in enumerate(targets):
        primary = org.table(table).primary_id
        note: Row = {"annotationid": new_id(rng), "subject": rng.choice(("Call notes", "Meeting notes", "Note")),
                     "notetext": rng.choice(NOTE_TEXTS), "objectid": LookupValue(table, record[primary]),
                     "isdocument": False, "filename": None, "mimetype": None, "documentbody": None}
        if number % 7 == 3:
            note.update(subject="Signed proposal", filename="proposal.txt", mimetype="text/plain",
                        documentbody=base64.b64encode(b"Proposal accepted, pending signature.").decode("ascii"))
        owner_id = _owner_id(record)
        stamp(org, note, _ago(org, rng, 0, 90), user_ref(owner_id), owner_id)
        org.put_row("annotation", note)
