"""A small in-memory Dataset for the query-engine tests: users, accounts, contacts, opportunities, tasks, activities.

Independent of the real sandbox schema and seed on purpose: the engines must work from model.Table metadata alone.
The clock is NOW = 2024-04-01T02:00Z, which is still 2024-03-31 (22:00 EDT) for Alice in New York, so relative-date
tests see a different "today" and "this month" than UTC would give.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from dataverse.sandbox.dataverse.model import (
    Column,
    LookupValue,
    ManyToOne,
    OneToMany,
    Option,
    QueryContext,
    Row,
    Table,
)

NOW = datetime(2024, 4, 1, 2, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
ALICE = "5e000000-0000-4000-8000-0000000a11ce"
BOB = "5e000000-0000-4000-8000-000000000b0b"
TEAM = "8c3d5b2e-0000-4000-8000-00000000a004"


def gid(prefix: str, n: int) -> str:
    return f"{prefix}0000000-0000-4000-8000-{n:012d}"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _col(name: str, kind: str, **extra) -> tuple[str, Column]:
    return name, Column(name, kind, name.title(), **extra)  # type: ignore[arg-type]


STATE = (Option(0, "Active"), Option(1, "Inactive"))
OPP_STATE = (Option(0, "Open"), Option(1, "Won"), Option(2, "Lost"))
OPP_STATUS = (Option(1, "In Progress", 0), Option(2, "On Hold", 0), Option(3, "Won", 1), Option(4, "Canceled", 2))

SYSTEMUSER = Table("systemuser", "systemusers", "User", "Users", "systemuserid", "fullname", dict([
    _col("systemuserid", "Uniqueidentifier"), _col("fullname", "String"),
]), ownership="OrganizationOwned")

ACCOUNT = Table("account", "accounts", "Account", "Accounts", "accountid", "name", dict([
    _col("accountid", "Uniqueidentifier"), _col("name", "String"), _col("accountnumber", "String"),
    _col("revenue", "Money"), _col("numberofemployees", "Integer"), _col("donotemail", "Boolean"),
    _col("primarycontactid", "Lookup", targets=("contact",)), _col("ownerid", "Owner", targets=("systemuser",)),
    _col("statecode", "State", options=STATE), _col("createdon", "DateTime"),
]), many_to_one=(
    ManyToOne("account_primary_contact", "primarycontactid", "contact", "contactid", "primarycontactid"),
    ManyToOne("user_accounts", "ownerid", "systemuser", "systemuserid", "ownerid"),
), one_to_many=(
    OneToMany("Account_Tasks", "task", "regardingobjectid", "Account_Tasks"),
    OneToMany("Account_ActivityPointers", "activitypointer", "regardingobjectid", "Account_ActivityPointers"),
    OneToMany("contact_customer_accounts", "contact", "parentcustomerid", "contact_customer_accounts"),
    OneToMany("opportunity_parent_account", "opportunity", "parentaccountid", "opportunity_parent_account"),
))

CONTACT = Table("contact", "contacts", "Contact", "Contacts", "contactid", "fullname", dict([
    _col("contactid", "Uniqueidentifier"), _col("fullname", "String"), _col("firstname", "String"),
    _col("lastname", "String"), _col("emailaddress1", "String"), _col("jobtitle", "String"),
    _col("parentcustomerid", "Customer", targets=("account", "contact")),
    _col("ownerid", "Owner", targets=("systemuser",)), _col("birthdate", "DateTime", date_only=True),
]), many_to_one=(
    ManyToOne("contact_customer_accounts", "parentcustomerid", "account", "accountid", "parentcustomerid_account"),
    ManyToOne("user_contacts", "ownerid", "systemuser", "systemuserid", "ownerid"),
))

OPPORTUNITY = Table("opportunity", "opportunities", "Opportunity", "Opportunities", "opportunityid", "name", dict([
    _col("opportunityid", "Uniqueidentifier"), _col("name", "String"), _col("estimatedvalue", "Money"),
    _col("estimatedclosedate", "DateTime", date_only=True), _col("stepname", "String"),
    _col("customerid", "Customer", targets=("account", "contact")),
    _col("parentaccountid", "Lookup", targets=("account",)), _col("ownerid", "Owner", targets=("systemuser",)),
    _col("statecode", "State", options=OPP_STATE), _col("statuscode", "Status", options=OPP_STATUS),
    _col("createdon", "DateTime"),
]), many_to_one=(
    ManyToOne("opportunity_customer_accounts", "customerid", "account", "accountid", "customerid_account"),
    ManyToOne("opportunity_customer_contacts", "customerid", "contact", "contactid", "customerid_contact"),
    ManyToOne("opportunity_parent_account", "parentaccountid", "account", "accountid", "parentaccountid"),
    ManyToOne("user_opportunities", "ownerid", "systemuser", "systemuserid", "ownerid"),
))

_ACTIVITY_COLUMNS = [
    _col("activityid", "Uniqueidentifier"), _col("subject", "String"),
    _col("regardingobjectid", "Lookup", targets=("account", "contact", "opportunity")),
    _col("statecode", "State", options=(Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled"))),
    _col("createdon", "DateTime"), _col("ownerid", "Owner", targets=("systemuser",)),
]
TASK = Table("task", "tasks", "Task", "Tasks", "activityid", "subject", dict(_ACTIVITY_COLUMNS), many_to_one=(
    ManyToOne("Account_Tasks", "regardingobjectid", "account", "accountid", "regardingobjectid_account_task"),
), is_activity=True)
ACTIVITYPOINTER = Table("activitypointer", "activitypointers", "Activity", "Activities", "activityid", "subject",
                        dict([*_ACTIVITY_COLUMNS, _col("activitytypecode", "EntityName")]), many_to_one=(
    ManyToOne("Account_ActivityPointers", "regardingobjectid", "account", "accountid", "regardingobjectid_account"),
))

TABLES = {t.logical_name: t for t in (SYSTEMUSER, ACCOUNT, CONTACT, OPPORTUNITY, TASK, ACTIVITYPOINTER)}

ACC = [gid("a", n) for n in range(1, 7)]
CON = [gid("c", n) for n in range(1, 5)]
OPP = [gid("b", n) for n in range(1, 9)]
TSK = [gid("d", n) for n in range(1, 5)]
PHN = [gid("e", n) for n in range(1, 3)]


def account_lv(i: int) -> LookupValue:
    return LookupValue("account", ACC[i])


def build_rows() -> dict[str, list[Row]]:
    alice, bob = LookupValue("systemuser", ALICE), LookupValue("systemuser", BOB)
    users = [{"systemuserid": ALICE, "fullname": "Alice Anders"}, {"systemuserid": BOB, "fullname": "Bob Brown"}]
    accounts = [
        {"accountid": ACC[0], "name": "Contoso Ltd", "accountnumber": "C-001", "revenue": 1_000_000.0,
         "numberofemployees": 500, "donotemail": False, "primarycontactid": LookupValue("contact", CON[0]),
         "ownerid": alice, "statecode": 0, "createdon": utc(2024, 3, 31, 1, 0)},
        {"accountid": ACC[1], "name": "Fabrikam, Inc.", "accountnumber": "F-002", "revenue": 250_000.5,
         "numberofemployees": 120, "donotemail": True, "primarycontactid": LookupValue("contact", CON[1]),
         "ownerid": bob, "statecode": 0, "createdon": utc(2024, 3, 1, 4, 59)},
        {"accountid": ACC[2], "name": "O'Brien & Sons", "accountnumber": None, "revenue": None,
         "numberofemployees": 12, "donotemail": False, "primarycontactid": None,
         "ownerid": alice, "statecode": 1, "createdon": utc(2024, 2, 29, 12, 0)},
        {"accountid": ACC[3], "name": "Adventure Works", "accountnumber": "A-004", "revenue": 75_000.0,
         "numberofemployees": None, "primarycontactid": LookupValue("contact", CON[2]),
         "ownerid": alice, "statecode": 0, "createdon": utc(2024, 1, 15, 9, 30)},
        {"accountid": ACC[4], "name": "Litware", "accountnumber": "L-005", "revenue": 5_000.0,
         "numberofemployees": 8, "donotemail": False, "primarycontactid": LookupValue("contact", CON[3]),
         "ownerid": bob, "statecode": 0, "createdon": utc(2023, 12, 31, 23, 0)},
        {"accountid": ACC[5], "name": "contoso east", "accountnumber": "C-006", "revenue": 20_000.0,
         "numberofemployees": 500, "donotemail": False, "primarycontactid": None,
         "ownerid": alice, "statecode": 0, "createdon": utc(2024, 4, 1, 1, 0)},
    ]
    contacts = [
        {"contactid": CON[0], "fullname": "Susanna Stubberod", "firstname": "Susanna", "lastname": "Stubberod",
         "emailaddress1": "susanna@contoso.example", "jobtitle": "Buyer", "parentcustomerid": account_lv(0),
         "ownerid": alice, "birthdate": date(1990, 3, 31)},
        {"contactid": CON[1], "fullname": "Nancy Anderson", "firstname": "Nancy", "lastname": "Anderson",
         "emailaddress1": "nancy@fabrikam.example", "jobtitle": "CEO", "parentcustomerid": account_lv(1),
         "ownerid": bob, "birthdate": date(1985, 4, 1)},
        {"contactid": CON[2], "fullname": "Maria Maria", "firstname": "Maria", "lastname": "maria",
         "emailaddress1": None, "jobtitle": "Buyer", "parentcustomerid": account_lv(3),
         "ownerid": alice, "birthdate": None},
        {"contactid": CON[3], "fullname": "Paul Cannon", "firstname": "Paul", "lastname": "Cannon",
         "emailaddress1": "paul@litware.example", "jobtitle": None, "parentcustomerid": LookupValue("contact", CON[0]),
         "ownerid": bob, "birthdate": date(2000, 1, 1)},
    ]
    opps = [
        ("Contoso upgrade", 50_000.0, date(2024, 3, 31), "Propose", 0, 0, 1, alice, account_lv(0)),
        ("Contoso renewal", 20_000.0, date(2024, 4, 15), "Qualify", 0, 0, 2, alice, account_lv(0)),
        ("Fabrikam pilot", 12_500.25, date(2024, 3, 1), "Propose", 1, 0, 1, bob, account_lv(1)),
        ("Adventure deal", None, date(2024, 5, 20), "Develop", 3, 0, 1, alice, account_lv(3)),
        ("Won deal", 99_000.0, date(2024, 2, 10), "Close", 0, 1, 3, alice, account_lv(0)),
        ("Lost deal", 1_000.0, date(2024, 3, 20), "Close", 4, 2, 4, bob, account_lv(4)),
        ("Nancy side deal", 7_500.0, None, None, None, 0, 1, alice, LookupValue("contact", CON[1])),
        ("Litware expansion", 30_000.0, date(2024, 3, 2), "Develop", 4, 0, 1, bob, account_lv(4)),
    ]
    opportunities = [
        {"opportunityid": OPP[i], "name": name, "estimatedvalue": value, "estimatedclosedate": close,
         "stepname": step, "customerid": customer, "ownerid": owner, "statecode": state, "statuscode": status,
         "parentaccountid": LookupValue("account", ACC[acc]) if acc is not None else None,
         "createdon": utc(2024, 1, 1 + i, 12, 0)}
        for i, (name, value, close, step, acc, state, status, owner, customer) in enumerate(opps)
    ]
    tasks = [
        {"activityid": TSK[0], "subject": "Call Contoso", "regardingobjectid": account_lv(0), "statecode": 1,
         "createdon": utc(2024, 3, 20, 15, 0), "ownerid": alice},
        {"activityid": TSK[1], "subject": "Send Contoso quote", "regardingobjectid": account_lv(0), "statecode": 0,
         "createdon": utc(2024, 1, 5, 15, 0), "ownerid": alice},
        {"activityid": TSK[2], "subject": "Fabrikam follow-up", "regardingobjectid": account_lv(1), "statecode": 1,
         "createdon": utc(2024, 1, 10, 15, 0), "ownerid": bob},
        {"activityid": TSK[3], "subject": "Litware check-in", "regardingobjectid": account_lv(4), "statecode": 1,
         "createdon": utc(2024, 2, 1, 15, 0), "ownerid": bob},
    ]
    phonecalls = [
        {"activityid": PHN[0], "subject": "Adventure intro call", "regardingobjectid": account_lv(3), "statecode": 1,
         "createdon": utc(2024, 3, 25, 10, 0), "ownerid": alice},
        {"activityid": PHN[1], "subject": "Call Paul", "regardingobjectid": LookupValue("contact", CON[3]),
         "statecode": 1, "createdon": utc(2024, 3, 28, 10, 0), "ownerid": bob},
    ]
    pointers = [{**row, "activitytypecode": "task"} for row in tasks]
    pointers += [{**row, "activitytypecode": "phonecall"} for row in phonecalls]
    return {"systemuser": users, "account": accounts, "contact": contacts, "opportunity": opportunities,
            "task": tasks, "activitypointer": pointers}


class FakeDataset:
    """model.Dataset over the rows above (or any rows given); no row security."""

    def __init__(self, rows: dict[str, list[Row]] | None = None, tables: dict[str, Table] | None = None):
        self.tables = tables or TABLES
        self.data = rows if rows is not None else build_rows()

    def table(self, logical_name: str) -> Table:
        return self.tables[logical_name]

    def table_by_entity_set(self, entity_set: str) -> Table:
        for table in self.tables.values():
            if table.entity_set == entity_set:
                return table
        raise KeyError(entity_set)

    def rows(self, logical_name: str) -> list[Row]:
        self.table(logical_name)
        return list(self.data.get(logical_name, []))

    def get(self, logical_name: str, row_id: str) -> Row | None:
        key = self.table(logical_name).primary_id
        return next((r for r in self.data.get(logical_name, []) if r.get(key) == row_id.lower()), None)


def alice_context(**overrides) -> QueryContext:
    values = {"user_id": ALICE, "now": NOW, "user_timezone": NEW_YORK, "team_ids": (TEAM,)}
    values.update(overrides)
    return QueryContext(**values)
