"""QualifyLead over HTTP (bound to a lead): it creates the account, contact and opportunity asked for from the lead,
links them to each other and back to the lead, qualifies the lead, and answers with the created records as a
`Collection(crmbaseentity)`; the errors for closed, hidden and read-only leads, wrong statuses, untyped customer
references and a call without the namespace."""

from __future__ import annotations

import pytest
from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID

ALL = {"CreateAccount": True, "CreateContact": True, "CreateOpportunity": True, "Status": 3}


def _open_lead(org, user, **where) -> dict:
    return next(row for row in org.rows["lead"].values() if row["ownerid"].id == user.systemuser_id
                and row["statecode"] == 0 and all(row.get(key) == value for key, value in where.items()))


def _qualify_url(lead_id: str) -> str:
    return f"{API}/leads({lead_id})/Microsoft.Dynamics.CRM.QualifyLead"


async def test_qualifying_creates_account_contact_and_opportunity_from_the_lead(alice, org):
    lead = _open_lead(org, ALICE)
    response = await alice.post(_qualify_url(lead["leadid"]), json=ALL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{BASE_URL}/api/data/v9.2/$metadata#Collection(Microsoft.Dynamics.CRM." \
                                     "crmbaseentity)"
    types = [item["@odata.type"] for item in body["value"]]
    assert types == ["#Microsoft.Dynamics.CRM.account", "#Microsoft.Dynamics.CRM.contact",
                     "#Microsoft.Dynamics.CRM.opportunity"]
    account = org.rows["account"][body["value"][0]["accountid"]]
    contact = org.rows["contact"][body["value"][1]["contactid"]]
    opportunity = org.rows["opportunity"][body["value"][2]["opportunityid"]]
    origin = LookupValue("lead", lead["leadid"])
    assert account["name"] == lead["companyname"] and account["originatingleadid"] == origin
    assert (contact["firstname"], contact["lastname"]) == (lead["firstname"], lead["lastname"])
    assert contact["emailaddress1"] == lead["emailaddress1"] and contact["originatingleadid"] == origin
    assert contact["parentcustomerid"] == LookupValue("account", account["accountid"])
    assert account["primarycontactid"] == LookupValue("contact", contact["contactid"])
    assert opportunity["name"] == lead["subject"] and opportunity["originatingleadid"] == origin
    assert opportunity["customerid"] == LookupValue("account", account["accountid"])
    assert opportunity["parentcontactid"] == LookupValue("contact", contact["contactid"])
    for row in (account, contact, opportunity):
        assert row["ownerid"] == LookupValue("systemuser", ALICE.systemuser_id)
    qualified = org.rows["lead"][lead["leadid"]]
    assert (qualified["statecode"], qualified["statuscode"]) == (1, 3)
    assert qualified["parentaccountid"] == LookupValue("account", account["accountid"])
    assert qualified["parentcontactid"] == LookupValue("contact", contact["contactid"])
    assert qualified["qualifyingopportunityid"] == LookupValue("opportunity", opportunity["opportunityid"])


async def test_an_existing_customer_is_used_for_the_opportunity(alice, org):
    lead = _open_lead(org, ALICE)
    customer = next(row for row in org.rows["account"].values() if row["ownerid"].id == ALICE.systemuser_id)
    response = await alice.post(_qualify_url(lead["leadid"]), json={
        "CreateAccount": False, "CreateContact": False, "CreateOpportunity": True, "Status": 3,
        "OpportunityCustomerId": {"@odata.type": "Microsoft.Dynamics.CRM.account",
                                  "accountid": customer["accountid"]}})
    assert response.status_code == 200, response.text
    [created] = response.json()["value"]
    opportunity = org.rows["opportunity"][created["opportunityid"]]
    assert opportunity["customerid"] == LookupValue("account", customer["accountid"])
    assert org.rows["lead"][lead["leadid"]].get("parentaccountid") is None


async def test_qualifying_without_creating_anything_only_qualifies(alice, org):
    lead = _open_lead(org, ALICE)
    response = await alice.post(_qualify_url(lead["leadid"]), json={
        "CreateAccount": False, "CreateContact": False, "CreateOpportunity": False, "Status": 3})
    assert response.status_code == 200 and response.json()["value"] == []
    assert org.rows["lead"][lead["leadid"]]["statecode"] == 1


async def test_a_customer_reference_without_its_type_is_refused(alice, org):
    lead = _open_lead(org, ALICE)
    response = await alice.post(_qualify_url(lead["leadid"]), json={
        **ALL, "OpportunityCustomerId": {"accountid": "00000000-0000-4000-8000-000000000001"}})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "EdmEntityObject passed should have the key property value set."


async def test_a_closed_lead_cannot_be_qualified(alice, org):
    closed = next(row for row in org.rows["lead"].values()
                  if row["ownerid"].id == ALICE.systemuser_id and row["statecode"] != 0)
    before = len(org.rows["account"])
    response = await alice.post(_qualify_url(closed["leadid"]), json=ALL)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "0x80040519", "message": "The lead is already closed."}
    assert len(org.rows["account"]) == before


async def test_a_status_that_is_not_qualified_is_refused_and_nothing_is_created(alice, org):
    lead = _open_lead(org, ALICE)
    counts = {name: len(org.rows[name]) for name in ("account", "contact", "opportunity")}
    response = await alice.post(_qualify_url(lead["leadid"]), json={**ALL, "Status": 4})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80048408",
        "message": f"4 is not a valid status code for state code LeadState.Qualified on lead with Id {lead['leadid']}."}
    assert {name: len(org.rows[name]) for name in counts} == counts


async def test_another_reps_lead_is_not_found(alice, org):
    response = await alice.post(_qualify_url(_open_lead(org, BOB)["leadid"]), json=ALL)
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217"


async def test_a_read_only_shared_lead_cannot_be_qualified(alice, org):
    lead = _open_lead(org, CAROL)
    org.share_with("lead", lead["leadid"], SANDBOX_TEAM_ID)
    response = await alice.post(_qualify_url(lead["leadid"]), json=ALL)
    assert response.status_code == 403
    assert "is missing prvWriteLead privilege" in response.json()["error"]["message"]
    assert org.rows["lead"][lead["leadid"]]["statecode"] == 0


async def test_a_bound_action_without_its_namespace_has_unresolved_parameters(alice, org):
    response = await alice.post(f"{API}/leads({_open_lead(org, ALICE)['leadid']})/QualifyLead", json=ALL)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Request message has unresolved parameters."


async def test_a_bound_action_on_the_wrong_table_is_an_unknown_segment(alice, org):
    account = next(iter(org.rows["account"]))
    response = await alice.post(f"{API}/accounts({account})/Microsoft.Dynamics.CRM.QualifyLead", json=ALL)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Resource not found for the segment " \
                                                  "'Microsoft.Dynamics.CRM.QualifyLead'."


@pytest.mark.parametrize("missing", ["CreateAccount", "Status"])
async def test_required_parameters_must_be_given(alice, org, missing):
    body = {key: value for key, value in ALL.items() if key != missing}
    response = await alice.post(_qualify_url(_open_lead(org, ALICE)["leadid"]), json=body)
    assert response.status_code == 400
