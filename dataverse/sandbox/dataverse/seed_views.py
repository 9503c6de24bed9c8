"""The seeded views: system views (savedquery) for accounts, contacts, opportunities and leads, and a few personal
views (userquery) of alice's and bob's, with FetchXML and layout XML shaped as Dataverse stores them.

System view ids are the same in every Dataverse organisation; these are the documented or widely referenced ones
(Active Accounts 00000000-0000-0000-00aa-000010001002 and Open Opportunities ...10003001 are in the Web API docs,
Active Contacts ...10001004 and Closed Opportunities ...10003006 in the model-driven app URL docs). Views whose id we
could not confirm get a stable sandbox id (uuid5 of their name), not a made-up "real" one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from dataverse.sandbox.dataverse.metadata import OBJECT_TYPE_CODES
from dataverse.sandbox.dataverse.model import LookupValue, Row
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.users import ALICE, BOB

_VIEW_NAMESPACE = uuid.UUID("9d4b3a6e-1f2c-4e8a-b7d5-3c2a1e0f9b88")
MAIN, QUICK_FIND, LOOKUP = 0, 4, 64
ACTIVE = "<condition attribute='statecode' operator='eq' value='0' />"
MINE = "<condition attribute='ownerid' operator='eq-userid' />"


def sandbox_view_id(name: str) -> str:
    return str(uuid.uuid5(_VIEW_NAMESPACE, name))


@dataclass(frozen=True)
class View:
    view_id: str
    name: str
    table: str
    columns: tuple[tuple[str, int], ...]  # (column, width) in grid order; the first is the one the grid opens
    conditions: str
    order: str
    querytype: int = MAIN
    isdefault: bool = False
    description: str = ""
    descending: bool = False
    active: bool = True

    @property
    def primary_id(self) -> str:
        return f"{self.table}id"

    def fetchxml(self) -> str:
        attributes = "".join(f"<attribute name='{name}' />" for name, _ in self.columns)
        descending = "true" if self.descending else "false"
        return (f"<fetch version='1.0' output-format='xml-platform' mapping='logical' distinct='false'>"
                f"<entity name='{self.table}'>{attributes}<attribute name='{self.primary_id}' />"
                f"<order attribute='{self.order}' descending='{descending}' />"
                f"<filter type='and'>{self.conditions}</filter></entity></fetch>")

    def layoutxml(self) -> str:
        cells = "".join(f"<cell name='{name}' width='{width}' />" for name, width in self.columns)
        return (f"<grid name='resultset' object='{OBJECT_TYPE_CODES[self.table]}' jump='{self.columns[0][0]}' "
                f"select='1' icon='1' preview='1'><row name='result' id='{self.primary_id}'>{cells}</row></grid>")


ACCOUNT_COLUMNS = (("name", 300), ("telephone1", 125), ("address1_city", 100), ("primarycontactid", 150))
CONTACT_COLUMNS = (("fullname", 300), ("parentcustomerid", 150), ("telephone1", 125), ("emailaddress1", 200))
OPPORTUNITY_COLUMNS = (("name", 300), ("customerid", 150), ("estimatedclosedate", 125), ("estimatedvalue", 125),
                       ("stepname", 100), ("ownerid", 150))
LEAD_COLUMNS = (("fullname", 200), ("subject", 200), ("companyname", 150), ("leadsourcecode", 100),
                ("leadqualitycode", 100), ("ownerid", 150))

SYSTEM_VIEWS = (
    View("00000000-0000-0000-00aa-000010001001", "My Active Accounts", "account", ACCOUNT_COLUMNS, ACTIVE + MINE,
         "name", isdefault=True, description="Active accounts that I own."),
    View("00000000-0000-0000-00aa-000010001002", "Active Accounts", "account", ACCOUNT_COLUMNS, ACTIVE, "name",
         description="All active accounts."),
    View(sandbox_view_id("Inactive Accounts"), "Inactive Accounts", "account", ACCOUNT_COLUMNS,
         "<condition attribute='statecode' operator='eq' value='1' />", "name", description="Deactivated accounts."),
    View(sandbox_view_id("Quick Find Active Accounts"), "Quick Find Active Accounts", "account", ACCOUNT_COLUMNS,
         ACTIVE, "name", querytype=QUICK_FIND, description="Columns searched by quick find on accounts."),
    View(sandbox_view_id("Account Lookup View"), "Account Lookup View", "account", ACCOUNT_COLUMNS[:2], ACTIVE,
         "name", querytype=LOOKUP, isdefault=True),
    View(sandbox_view_id("Accounts Being Followed"), "Accounts Being Followed", "account", ACCOUNT_COLUMNS, ACTIVE,
         "name", active=False, description="Retired view."),
    View("00000000-0000-0000-00aa-000010001003", "My Active Contacts", "contact", CONTACT_COLUMNS, ACTIVE + MINE,
         "fullname", isdefault=True, description="Active contacts that I own."),
    View("00000000-0000-0000-00aa-000010001004", "Active Contacts", "contact", CONTACT_COLUMNS, ACTIVE, "fullname",
         description="All active contacts."),
    View("00000000-0000-0000-00aa-000010003000", "My Open Opportunities", "opportunity", OPPORTUNITY_COLUMNS,
         ACTIVE + MINE, "estimatedclosedate", isdefault=True, description="Open opportunities that I own."),
    View("00000000-0000-0000-00aa-000010003001", "Open Opportunities", "opportunity", OPPORTUNITY_COLUMNS, ACTIVE,
         "estimatedclosedate", description="All open opportunities."),
    View("00000000-0000-0000-00aa-000010003006", "Closed Opportunities", "opportunity", OPPORTUNITY_COLUMNS,
         "<condition attribute='statecode' operator='ne' value='0' />", "actualclosedate", descending=True,
         description="Won and lost opportunities."),
    View("00000000-0000-0000-00aa-000010001006", "Open Leads", "lead", LEAD_COLUMNS, ACTIVE, "createdon",
         descending=True, description="All open leads."),
    View(sandbox_view_id("My Open Leads"), "My Open Leads", "lead", LEAD_COLUMNS, ACTIVE + MINE, "createdon",
         descending=True, isdefault=True, description="Open leads that I own."),
)
PERSONAL_VIEWS = (
    (ALICE.systemuser_id, View(sandbox_view_id("alice/Hot leads"), "Hot leads", "lead", LEAD_COLUMNS,
                               ACTIVE + "<condition attribute='leadqualitycode' operator='eq' value='1' />",
                               "createdon", descending=True, description="Open leads rated Hot.")),
    (ALICE.systemuser_id, View(sandbox_view_id("alice/My big open deals"), "My big open deals", "opportunity",
                               OPPORTUNITY_COLUMNS,
                               ACTIVE + MINE + "<condition attribute='estimatedvalue' operator='ge' value='250000' />",
                               "estimatedvalue", descending=True, description="My open deals of $250k or more.")),
    (BOB.systemuser_id, View(sandbox_view_id("bob/London accounts"), "London accounts", "account", ACCOUNT_COLUMNS,
                             ACTIVE + "<condition attribute='address1_city' operator='eq' value='London' />", "name",
                             description="Active accounts in London.")),
)


def _view_row(org: SandboxOrganization, view: View) -> Row:
    return {"name": view.name, "description": view.description, "fetchxml": view.fetchxml(),
            "layoutxml": view.layoutxml(), "layoutjson": None, "columnsetxml": None, "returnedtypecode": view.table,
            "querytype": view.querytype, "statecode": 0 if view.active else 1, "statuscode": 1 if view.active else 2}


def seed_views(org: SandboxOrganization) -> None:
    installed = org.now() - timedelta(days=800)  # with the organisation; made by SYSTEM, who is not a sandbox user
    for view in SYSTEM_VIEWS:
        row = _view_row(org, view)
        row.update(savedqueryid=view.view_id, isdefault=view.isdefault, isquickfindquery=view.querytype == QUICK_FIND,
                   createdon=installed, modifiedon=installed, createdby=None, modifiedby=None)
        org.put_row("savedquery", row)
    for number, (owner_id, view) in enumerate(PERSONAL_VIEWS):
        created = org.now() - timedelta(days=30 - 10 * number, hours=3)
        owner = LookupValue("systemuser", owner_id)
        row = _view_row(org, view)
        row.update(userqueryid=view.view_id, ownerid=owner, createdon=created, modifiedon=created, createdby=owner,
                   modifiedby=owner)
        org.put_row("userquery", row)
