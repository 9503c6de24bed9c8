"""The seeded timeline tells the truth: activities of every kind regarding accounts, contacts and opportunities over
the last 90 days, by several users; stale deals are a real subset of open ones; some accounts are active only through
their contacts and deals; activities have parties; records carry notes."""

from __future__ import annotations

from datetime import timedelta

from sandbox_dataverse_support import fetch_url

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.organization import SandboxOrganization
from dataverse.sandbox.users import ALICE, BOB, CAROL

MY_OPEN = ("<fetch><entity name='opportunity'><attribute name='name'/><filter>"
           "<condition attribute='ownerid' operator='eq-userid'/><condition attribute='statecode' operator='eq' "
           "value='0'/></filter>{link}</entity></fetch>")
NO_ACTIVITY_IN_14_DAYS = ("<link-entity name='activitypointer' from='regardingobjectid' to='opportunityid' "
                          "link-type='not any'><filter><condition attribute='createdon' operator='last-x-days' "
                          "value='14'/></filter></link-entity>")


async def test_stale_opportunities_are_a_strict_nonempty_part_of_my_open_ones(client_as):
    for user in (ALICE, BOB):
        client = client_as(user)
        open_ids = {row["opportunityid"] for row in
                    (await client.get(fetch_url("opportunities", MY_OPEN.format(link="")))).json()["value"]}
        stale = {row["opportunityid"] for row in (await client.get(
            fetch_url("opportunities", MY_OPEN.format(link=NO_ACTIVITY_IN_14_DAYS)))).json()["value"]}
        assert stale and stale < open_ids, user.username


def test_activities_regard_accounts_contacts_and_opportunities_over_90_days_by_several_users(org):
    now = org.now()
    pointers = org.all_rows("activitypointer")
    assert {row["activitytypecode"] for row in pointers} == {"task", "phonecall", "appointment", "email"}
    assert {row["regardingobjectid"].table for row in pointers} == {"account", "contact", "opportunity"}
    assert {row["ownerid"].id for row in pointers} == {ALICE.systemuser_id, BOB.systemuser_id, CAROL.systemuser_id}
    ages = [(now - row["createdon"]).days for row in pointers]
    assert min(ages) <= 2 and max(ages) >= 80 and all(0 <= age < 90 for age in ages)


def _activity_through_others(org: SandboxOrganization) -> list[str]:
    regarding = {row["regardingobjectid"] for row in org.all_rows("activitypointer")}
    found = []
    for account in org.rows["account"].values():
        target = LookupValue("account", account["accountid"])
        related = {LookupValue("contact", c["contactid"]) for c in org.rows["contact"].values()
                   if c["parentcustomerid"] == target}
        related |= {LookupValue("opportunity", o["opportunityid"]) for o in org.rows["opportunity"].values()
                    if o["parentaccountid"] == target}
        if target not in regarding and related & regarding:
            found.append(account["name"])
    return found


def test_some_accounts_are_active_only_through_their_contacts_and_deals(org):
    assert len(_activity_through_others(org)) >= 5


def test_appointments_calls_and_emails_have_parties_with_valid_roles(org):
    masks: dict[str, set[int]] = {}
    for party in org.all_rows("activityparty"):
        masks.setdefault(party["activityid"].table, set()).add(party["participationtypemask"])
    assert masks == {"appointment": {5, 7}, "phonecall": {1, 2}, "email": {1, 2}}
    email = next(iter(org.rows["email"].values()))
    roles = {p["participationtypemask"]: p for p in org.all_rows("activityparty")
             if p["activityid"] == LookupValue("email", email["activityid"])}
    assert set(roles) == {1, 2} and roles[1]["partyidname"]


def test_records_carry_notes_some_of_them_documents(org):
    notes = list(org.rows["annotation"].values())
    assert {note["objecttypecode"] for note in notes} == {"account", "contact", "opportunity"}
    assert any(note["isdocument"] for note in notes) and not all(note["isdocument"] for note in notes)
    assert all(org.now() - timedelta(days=90) <= note["createdon"] <= org.now() for note in notes)
