"""The deterministic sample organisation: users, a team, accounts, contacts, opportunities, leads and activities
drawn from one `random.Random`, dated relative to the organisation's clock so
"this month" and "last 30 days" always hold data.

Guarantees the tests and demos lean on: alice and bob each own several open opportunities closing this month; some
accounts are called "Contoso ..." and have contacts; some accounts owned by carol are shared (read-only) with the
sales team; some accounts have activities only older than 30 days. The timeline (activities on opportunities and
contacts, parties, notes: seed_timeline), the views (seed_views), the change history (seed_history) and the values
the documented Web API examples read (seed_documented) follow, then the CRM work's competitors, marketing lists and
their N:N links (seed_sales).
"""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta

from dataverse.sandbox.dataverse.model import LookupValue, Row
from dataverse.sandbox.dataverse.row_rules import STEP_NAMES
from dataverse.sandbox.dataverse.seed_documented import seed_documented
from dataverse.sandbox.dataverse.seed_history import seed_history
from dataverse.sandbox.dataverse.seed_sales import seed_sales
from dataverse.sandbox.dataverse.seed_support import at, new_id, stamp, user_ref
from dataverse.sandbox.dataverse.seed_timeline import seed_timeline
from dataverse.sandbox.dataverse.seed_views import seed_views
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID, SANDBOX_USERS

COMPANIES = (
    "Contoso Ltd", "Contoso Pharmaceuticals", "Contoso Retail", "Fabrikam", "Adventure Works", "Litware",
    "Northwind Traders", "Tailspin Toys", "Wide World Importers", "Woodgrove Bank", "Alpine Ski House", "Coho Winery",
    "Fourth Coffee", "Blue Yonder Airlines", "A. Datum", "Proseware", "Trey Research", "Lucerne Publishing",
    "Margie's Travel", "Humongous Insurance", "Southridge Video", "VanArsdel", "Relecloud", "Wingtip Toys",
    "Consolidated Messenger", "Best For You Organics", "City Power & Light", "Tasmanian Traders", "Bellows College",
    "Graphic Design Institute",
)
SUFFIXES = ("", " Europe", " Labs")
FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kemi", "Liam",
               "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Yara")
LAST_NAMES = ("Alvarez", "Brennan", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
              "Kowalski", "Larsen", "Moreau", "Nakamura", "O'Bryan", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka")
JOB_TITLES = ("CEO", "CFO", "Purchasing Manager", "IT Director", "Operations Lead", "Buyer", "VP Sales")
CITIES = (("Seattle", "United States"), ("New York", "United States"), ("London", "United Kingdom"),
          ("Berlin", "Germany"), ("Paris", "France"), ("Toronto", "Canada"), ("Sydney", "Australia"))
OPEN_STATUS = (1, 1, 1, 2)


def _seed_directory(org: SandboxOrganization) -> None:
    created = org.now() - timedelta(days=800)
    org.put_row("businessunit", {"businessunitid": org.business_unit_id, "name": "Sandbox Sales",
                                 "parentbusinessunitid": None, "createdon": created, "modifiedon": created})
    for user in SANDBOX_USERS:
        first, last = user.full_name.split(" ", 1)
        org.put_row("systemuser", {
            "systemuserid": user.systemuser_id, "firstname": first, "lastname": last,
            "internalemailaddress": user.upn, "domainname": user.upn,
            "title": "Sales Manager" if user.role == "manager" else "Account Executive",
            "azureactivedirectoryobjectid": user.object_id,
            "businessunitid": LookupValue("businessunit", org.business_unit_id), "isdisabled": False,
            "createdon": created, "modifiedon": created,
        })
        org.put_row("usersettings", {"systemuserid": user.systemuser_id, "timezonecode": user.timezone_code,
                                     "uilanguageid": 1033, "localeid": 1033})
    org.put_row("team", {"teamid": SANDBOX_TEAM_ID, "name": "Sales Team", "teamtype": 0,
                         "businessunitid": LookupValue("businessunit", org.business_unit_id),
                         "administratorid": user_ref(CAROL.systemuser_id), "createdon": created, "modifiedon": created})
    org.team_members[SANDBOX_TEAM_ID] = {ALICE.systemuser_id, BOB.systemuser_id}


def _account_owner(index: int) -> LookupValue:
    cycle = (ALICE, BOB, ALICE, BOB, CAROL, ALICE, BOB, CAROL, None)
    user = cycle[index % len(cycle)]
    return LookupValue("team", SANDBOX_TEAM_ID) if user is None else user_ref(user.systemuser_id)


def _seed_accounts(org: SandboxOrganization, rng: random.Random) -> list[Row]:
    accounts = []
    names = [company + suffix for suffix in SUFFIXES for company in COMPANIES][:60]
    for index, name in enumerate(names):
        owner = _account_owner(index)
        city, country = rng.choice(CITIES)
        row: Row = {
            "accountid": new_id(rng), "name": name, "accountnumber": f"AC-{10000 + index}",
            "revenue": float(rng.randrange(2, 900) * 50_000), "numberofemployees": rng.randrange(5, 20_000),
            "industrycode": rng.choice((1, 6, 7, 8, 12, 16, 19, 29, 33)),
            "telephone1": f"+1-555-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
            "emailaddress1": f"info@{name.split()[0].lower().strip('.')}{index}.example",
            "websiteurl": f"https://{name.split()[0].lower().strip('.')}.example", "address1_city": city,
            "address1_country": country, "description": None, "creditonhold": rng.random() < 0.1,
            "primarycontactid": None, "parentaccountid": None,
            "statecode": 1 if index % 17 == 16 else 0, "statuscode": 2 if index % 17 == 16 else 1,
        }
        creator = owner.id if owner.table == "systemuser" else CAROL.systemuser_id
        stamp(org, row, at(org.now().date() - timedelta(days=rng.randrange(120, 720)), rng), owner, creator)
        accounts.append(org.put_row("account", row))
        if owner.id == CAROL.systemuser_id and index % 3 == 1:
            org.share_with("account", row["accountid"], SANDBOX_TEAM_ID)
    for child, parent in ((5, 0), (6, 0), (33, 3)):
        accounts[child]["parentaccountid"] = LookupValue("account", accounts[parent]["accountid"])
    return accounts


def _seed_contacts(org: SandboxOrganization, rng: random.Random, accounts: list[Row]) -> None:
    for index, account in enumerate(accounts):
        for number in range(2 + (index % 3) + (1 if account["name"].startswith("Contoso") else 0)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            row: Row = {
                "contactid": new_id(rng), "firstname": first, "lastname": last,
                "emailaddress1": f"{first.lower()}.{last.lower().replace(chr(39), '')}{index}@example.com",
                "jobtitle": rng.choice(JOB_TITLES), "telephone1": f"+1-555-01{rng.randrange(10, 99)}",
                "mobilephone": None, "parentcustomerid": LookupValue("account", account["accountid"]),
                "birthdate": date(1960 + rng.randrange(40), rng.randrange(1, 13), rng.randrange(1, 28)),
                "donotemail": rng.random() < 0.15, "preferredcontactmethodcode": rng.choice((1, 2, 3)),
                "statecode": 0, "statuscode": 1,
            }
            creator = account["createdby"].id
            stamp(org, row, account["createdon"] + timedelta(days=rng.randrange(1, 60)), account["ownerid"], creator)
            org.put_row("contact", row)
            if ("account", account["accountid"]) in org.shares:
                org.share_with("contact", row["contactid"], SANDBOX_TEAM_ID)
            if number == 0:
                account["primarycontactid"] = LookupValue("contact", row["contactid"])


def _readable_accounts(org: SandboxOrganization, accounts: list[Row], user_id: str) -> list[Row]:
    if org.is_manager(user_id):
        return accounts
    return [a for a in accounts if a["ownerid"].id == user_id or a["ownerid"].id == SANDBOX_TEAM_ID
            or SANDBOX_TEAM_ID in org.shares.get(("account", a["accountid"]), set())]


def _close_date_this_month(today: date, rng: random.Random) -> date:
    last_day = calendar.monthrange(today.year, today.month)[1]
    return date(today.year, today.month, rng.randrange(1, last_day + 1))


def _seed_opportunities(org: SandboxOrganization, rng: random.Random, accounts: list[Row]) -> None:
    today = org.now().date()
    owners = (ALICE, BOB, CAROL, ALICE, BOB)
    for index in range(130):
        owner = owners[index % len(owners)]
        account = rng.choice(_readable_accounts(org, accounts, owner.systemuser_id))
        contact_id = account["primarycontactid"].id if account["primarycontactid"] else None
        guaranteed = index < 20 and owner is not CAROL  # the first 8 of alice's and bob's: open, this month
        stage = rng.randrange(4)
        state = 0 if guaranteed or rng.random() < 0.7 else rng.choice((1, 2))
        if state == 0:
            close = (_close_date_this_month(today, rng) if guaranteed
                     else today + timedelta(days=rng.randrange(-20, 150)))
            status = rng.choice(OPEN_STATUS)
        else:
            close = today - timedelta(days=rng.randrange(5, 300))
            status = 3 if state == 1 else rng.choice((4, 5))
            stage = 3 if state == 1 else stage
        value = float(rng.randrange(10, 1000) * 500)
        product = rng.choice(("Licences", "Support renewal", "Hardware refresh", "Consulting", "Training"))
        row = {
            "opportunityid": new_id(rng), "name": f"{account['name']} - {product}",
            "customerid": LookupValue("account", account["accountid"]),
            "parentaccountid": LookupValue("account", account["accountid"]),
            "parentcontactid": LookupValue("contact", contact_id) if contact_id else None,
            "estimatedvalue": value, "estimatedclosedate": close,
            "actualvalue": value if state == 1 else None, "actualclosedate": close if state else None,
            "closeprobability": (10, 30, 60, 90)[stage] if state == 0 else (100 if state == 1 else 0),
            "stepname": STEP_NAMES[stage], "salesstage": stage, "opportunityratingcode": rng.choice((1, 2, 3)),
            "description": None, "statecode": state, "statuscode": status,
        }
        created = at(today - timedelta(days=rng.randrange(10, 200)), rng)
        stamp(org, row, created, user_ref(owner.systemuser_id), owner.systemuser_id)
        org.put_row("opportunity", row)


def _seed_leads(org: SandboxOrganization, rng: random.Random, accounts: list[Row]) -> None:
    for index in range(45):
        owner = (ALICE, BOB, CAROL)[index % 3]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(COMPANIES) if index % 4 else f"{last} Consulting"
        state = 0 if index % 5 else rng.choice((1, 2))
        row = {
            "leadid": new_id(rng), "subject": f"Interest in {rng.choice(('licences', 'support', 'training'))}",
            "firstname": first, "lastname": last, "companyname": company,
            "emailaddress1": f"{first.lower()}@{company.split()[0].lower().strip('.')}.example",
            "telephone1": None, "jobtitle": rng.choice(JOB_TITLES), "leadqualitycode": rng.choice((1, 2, 3)),
            "leadsourcecode": rng.randrange(1, 11), "industrycode": rng.choice((6, 7, 16, 29)),
            "revenue": float(rng.randrange(1, 100) * 10_000), "parentaccountid": None,
            "statecode": state, "statuscode": {0: rng.choice((1, 2)), 1: 3, 2: rng.choice((4, 5, 6, 7))}[state],
        }
        stamp(org, row, at(org.now().date() - timedelta(days=rng.randrange(0, 120)), rng),
               user_ref(owner.systemuser_id), owner.systemuser_id)
        org.put_row("lead", row)


def _seed_activities(org: SandboxOrganization, rng: random.Random, accounts: list[Row]) -> None:
    today = org.now().date()
    for index, account in enumerate(accounts):
        quiet = index % 5 == 4  # activities only older than 30 days
        owner = account["ownerid"] if account["ownerid"].table == "systemuser" else user_ref(ALICE.systemuser_id)
        for number in range(1 + index % 4):
            age = rng.randrange(31, 90) if quiet else (rng.randrange(0, 25) if number == 0 else rng.randrange(0, 90))
            created = at(today - timedelta(days=age), rng)
            kind = ("appointment", "task", "phonecall")[(index + number) % 3]
            row: Row = {
                "activityid": new_id(rng), "regardingobjectid": LookupValue("account", account["accountid"]),
                "prioritycode": rng.choice((0, 1, 1, 2)), "description": None,
            }
            if kind == "appointment":
                start = created + timedelta(days=rng.randrange(1, 10))
                row.update(subject=f"Meeting with {account['name']}", scheduledstart=start,
                           scheduledend=start + timedelta(hours=1), location=rng.choice(("Online", "On site")),
                           statecode=3, statuscode=5)
            elif kind == "task":
                done = rng.random() < 0.5
                row.update(subject=f"Follow up: {account['name']}", scheduledend=created + timedelta(days=7),
                           percentcomplete=100 if done else 0, statecode=1 if done else 0,
                           statuscode=5 if done else 2)
            else:
                row.update(subject=f"Call {account['name']}", phonenumber=account["telephone1"],
                           directioncode=True, actualend=created + timedelta(minutes=15), statecode=1, statuscode=2)
            stamp(org, row, created, owner, owner.id)
            org.put_row(kind, row)


def seed_organization(org: SandboxOrganization, rng: random.Random) -> None:
    """Fill an empty organisation with the sample data drawn from `rng`."""
    _seed_directory(org)
    accounts = _seed_accounts(org, rng)
    _seed_contacts(org, rng, accounts)
    _seed_opportunities(org, rng, accounts)
    _seed_leads(org, rng, accounts)
    _seed_activities(org, rng, accounts)
    seed_timeline(org, rng)  # draws after everything above, so the data above keeps its values
    seed_views(org)
    seed_history(org)
    seed_documented(org)  # draws nothing; after the history, so every row and audit entry above keeps its values
    seed_sales(org)  # draws nothing and audits nothing; last, so every row above keeps its values and versions
