"""Auditing over HTTP: every write is recorded with the documented action codes, read back through `audits` and
RetrieveRecordChangeHistory (old and new values of the changed columns only, lookups annotated, newest first, paged,
with a total), behind the View Audit History / View Audit Summary privileges, and switched off for the environment by
the organization's isauditenabled, after which nothing new is recorded; WinOpportunity, LoseOpportunity and QualifyLead
are recorded as 44 Win, 45 Lose and 24 Qualify."""

from __future__ import annotations

import json
import re

import pytest
from sandbox_dataverse_support import ANNOTATE_ALL, API, BASE_URL, TODAY

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.organization import create_sandbox_organization
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_ORGANIZATION_ID, SANDBOX_TEAM_ID

ENTITY_ID = re.compile(rf"^{re.escape(BASE_URL)}/api/data/v9\.2/(\w+)\(([0-9a-f-]{{36}})\)$")
HISTORY = f"{API}/RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)"


def _history_params(entity_set: str, record_id: str, **paging) -> dict[str, str]:
    return {"@target": f"{{'@odata.id':'{entity_set}({record_id})'}}", "@paginginfo": json.dumps(paging)}


async def _account_with_a_past(alice) -> str:
    """An account alice creates, renames, hands to her team and deactivates."""
    created = await alice.post(f"{API}/accounts", json={"name": "Audited Ltd", "description": "Old"})
    account_id = ENTITY_ID.match(created.headers["odata-entityid"]).group(2)
    for change in ({"description": "New", "telephone1": "+1-555-0100"},
                   {"ownerid@odata.bind": f"/teams({SANDBOX_TEAM_ID})"},
                   {"statecode": 1, "statuscode": 2}):
        response = await alice.patch(f"{API}/accounts({account_id})", json=change, headers={"If-Match": "*"})
        assert response.status_code == 204, response.text
    return account_id


async def test_each_write_leaves_an_audit_row_with_the_documented_action(alice, org):
    account_id = await _account_with_a_past(alice)
    body = (await alice.get(f"{API}/audits?$select=action,operation,objecttypecode,_objectid_value,_userid_value,"
                            f"createdon,attributemask&$filter=_objectid_value eq {account_id}&$orderby=createdon desc",
                            headers=ANNOTATE_ALL)).json()
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    rows = body["value"]
    assert [(row["action"], row["operation"]) for row in rows] == [(5, 2), (13, 2), (2, 2), (1, 1)]
    assert [row["action@OData.Community.Display.V1.FormattedValue"] for row in rows] == [
        "Deactivate", "Assign", "Update", "Create"]
    assert all(row["_userid_value"] == ALICE.systemuser_id and row["objecttypecode"] == "account" for row in rows)
    assert all(row["_objectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account" for row in rows)
    assert all(row["objecttypecode@OData.Community.Display.V1.FormattedValue"] == "Account" for row in rows)
    assert not any(key.endswith("associatednavigationproperty") for row in rows for key in row)
    assert all(row["createdon"] == org.now().strftime("%Y-%m-%dT%H:%M:%SZ") for row in rows)
    numbers = {item["LogicalName"]: item["ColumnNumber"] for item in (await alice.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,ColumnNumber")).json()["value"]}
    assert rows[2]["attributemask"] == f"{numbers['telephone1']},{numbers['description']}"


async def test_change_history_shows_old_and_new_values_of_the_changed_columns_newest_first(alice):
    account_id = await _account_with_a_past(alice)
    response = await alice.get(HISTORY, params=_history_params("accounts", account_id, PageNumber=1, Count=10,
                                                                ReturnTotalRecordCount=True))
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.RetrieveRecordChangeHistoryResponse")
    collection = body["AuditDetailCollection"]
    assert (collection["MoreRecords"], collection["TotalRecordCount"]) == (False, 4)
    state, assign, update, create = collection["AuditDetails"]
    for detail in collection["AuditDetails"]:
        assert detail["@odata.type"] == "#Microsoft.Dynamics.CRM.AttributeAuditDetail"
        assert detail["DeletedAttributes"] == {"Count": 0, "Keys": [], "Values": []}
        assert detail["InvalidNewValueAttributes"] == [] and detail["LocLabelLanguageCode"] == 0
    assert update["OldValue"] == {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "Old"}
    assert update["NewValue"] == {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "New",
                                  "telephone1": "+1-555-0100"}
    assert assign["OldValue"] == {
        "@odata.type": "#Microsoft.Dynamics.CRM.account",
        "_ownerid_value@OData.Community.Display.V1.FormattedValue": "Alice Anders",
        "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "ownerid",
        "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
        "_ownerid_value": ALICE.systemuser_id}
    assert assign["NewValue"]["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "team"
    assert assign["NewValue"]["_ownerid_value@OData.Community.Display.V1.FormattedValue"] == "Sales Team"
    assert (state["OldValue"]["statecode"], state["NewValue"]["statecode"]) == (0, 1)
    assert create["OldValue"] == {"@odata.type": "#Microsoft.Dynamics.CRM.account"}
    assert create["NewValue"]["name"] == "Audited Ltd" and "versionnumber" not in create["NewValue"]


async def test_change_history_pages_with_its_cookie(alice):
    account_id = await _account_with_a_past(alice)
    first = (await alice.get(HISTORY, params=_history_params("accounts", account_id, PageNumber=1, Count=3))).json()
    page = first["AuditDetailCollection"]
    assert page["MoreRecords"] is True and len(page["AuditDetails"]) == 3 and page["TotalRecordCount"] == -1
    second = (await alice.get(HISTORY, params=_history_params(
        "accounts", account_id, PageNumber=2, Count=3, PagingCookie=page["PagingCookie"]))).json()
    rest = second["AuditDetailCollection"]
    assert rest["MoreRecords"] is False and len(rest["AuditDetails"]) == 1
    assert rest["AuditDetails"][0]["OldValue"] == {"@odata.type": "#Microsoft.Dynamics.CRM.account"}  # the create


async def test_the_target_may_be_inline_and_absolute(alice):
    account_id = await _account_with_a_past(alice)
    target = f"{{'@odata.id':'{BASE_URL}/api/data/v9.2/accounts({account_id})'}}"
    response = await alice.get(f"{API}/RetrieveRecordChangeHistory(Target={target})")
    assert response.status_code == 200
    assert len(response.json()["AuditDetailCollection"]["AuditDetails"]) == 4


async def test_attribute_history_and_audit_details(alice):
    account_id = await _account_with_a_past(alice)
    response = await alice.get(
        f"{API}/RetrieveAttributeChangeHistory(Target=@target,AttributeLogicalName=@attributeLogicalName,"
        "PagingInfo=@paginginfo)",
        params={**_history_params("accounts", account_id, PageNumber=1, Count=5, ReturnTotalRecordCount=True),
                "@attributeLogicalName": "'description'"})
    collection = response.json()["AuditDetailCollection"]
    assert collection["TotalRecordCount"] == 2
    assert [d["NewValue"] for d in collection["AuditDetails"]] == [
        {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "New"},
        {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "Old"}]
    audit_id = (await alice.get(f"{API}/audits?$select=auditid&$filter=_objectid_value eq {account_id} and "
                                "action eq 13")).json()["value"][0]["auditid"]
    details = (await alice.get(f"{API}/audits({audit_id})/Microsoft.Dynamics.CRM.RetrieveAuditDetails")).json()
    assert details["@odata.context"].endswith("#Microsoft.Dynamics.CRM.RetrieveAuditDetailsResponse")
    assert details["AuditDetail"]["NewValue"]["_ownerid_value"] == SANDBOX_TEAM_ID


async def test_a_delete_is_recorded_with_the_old_values_and_cascades_are_recorded_too(carol, org):
    account = next(row for row in org.rows["account"].values()
                   if any(c["parentcustomerid"].id == row["accountid"] for c in org.rows["contact"].values()))
    contacts = [c["contactid"] for c in org.rows["contact"].values()
                if c["parentcustomerid"].id == account["accountid"]]
    assert (await carol.delete(f"{API}/accounts({account['accountid']})")).status_code == 204
    history = (await carol.get(HISTORY, params=_history_params("accounts", account["accountid"]))).json()
    deleted = history["AuditDetailCollection"]["AuditDetails"][0]
    assert deleted["NewValue"] == {"@odata.type": "#Microsoft.Dynamics.CRM.account"}
    assert deleted["OldValue"]["name"] == account["name"]
    rows = (await carol.get(f"{API}/audits?$select=_objectid_value&$filter=action eq 3 and "
                            "objecttypecode eq 'contact'")).json()["value"]
    assert set(contacts) <= {row["_objectid_value"] for row in rows}


async def test_seeded_opportunities_have_a_history_of_stage_moves_and_closing(carol, org):
    won = next(row for row in org.rows["opportunity"].values() if row["statecode"] == 1 and row["salesstage"] == 3)
    details = (await carol.get(HISTORY, params=_history_params("opportunities", won["opportunityid"],
                                                                ReturnTotalRecordCount=True))).json()
    details = details["AuditDetailCollection"]["AuditDetails"]
    closing, progress, create = details
    assert closing["NewValue"]["statecode"] == 1 and closing["OldValue"]["statecode"] == 0
    assert (progress["OldValue"]["stepname"], progress["NewValue"]["stepname"]) == ("1-Qualify", "4-Close")
    assert create["NewValue"]["salesstage"] == 0
    actions = [row["action"] for row in (await carol.get(
        f"{API}/audits?$select=action&$orderby=createdon desc&$filter=_objectid_value eq {won['opportunityid']}"
    )).json()["value"]]
    assert actions == [44, 2, 1]


async def test_reading_history_needs_the_view_audit_history_privilege(bob, org):
    account_id = next(row["accountid"] for row in org.rows["account"].values()
                      if row["ownerid"].id == BOB.systemuser_id)
    response = await bob.get(HISTORY, params=_history_params("accounts", account_id))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "0x80040220"
    assert f"Principal user (Id={BOB.systemuser_id}, type=8) is missing prvReadRecordAuditHistory" in error["message"]
    summary = await bob.get(f"{API}/audits?$select=action")
    assert summary.status_code == 403 and "prvReadAuditSummary" in summary.json()["error"]["message"]


async def test_history_of_a_record_the_caller_cannot_read_is_not_found(alice, org):
    carols = next(row["accountid"] for row in org.rows["account"].values()
                  if row["ownerid"].id == CAROL.systemuser_id and ("account", row["accountid"]) not in org.shares)
    assert (await alice.get(HISTORY, params=_history_params("accounts", carols))).status_code == 404


async def test_the_audit_log_is_read_only_and_its_functions_answer_get_only(carol, org):
    created = await carol.post(f"{API}/audits", json={"action": 1})
    assert (created.status_code, created.json()["error"]["code"]) == (400, "0x80040800")
    posted = await carol.post(f"{API}/RetrieveRecordChangeHistory(Target=@target)", json={})
    assert posted.status_code == 404
    assert posted.json()["error"]["message"].startswith("No HTTP resource was found that matches the request URI")


async def test_turning_auditing_off_for_the_environment_stops_recording(client_as, org):
    alice, carol = client_as(ALICE), client_as(CAROL)
    organization = f"{API}/organizations({SANDBOX_ORGANIZATION_ID})"
    refused = await alice.patch(organization, json={"isauditenabled": False}, headers={"If-Match": "*"})
    assert refused.status_code == 403
    assert (await carol.patch(organization, json={"isauditenabled": False}, headers={"If-Match": "*"})
            ).status_code == 204
    assert (await alice.get(f"{organization}?$select=isauditenabled")).json()["isauditenabled"] is False
    account_id = await _account_with_a_past(alice)
    history = (await alice.get(HISTORY, params=_history_params("accounts", account_id, PageNumber=1, Count=5,
                                                                ReturnTotalRecordCount=True))).json()
    assert history["AuditDetailCollection"] == {"MoreRecords": False, "PagingCookie": None, "TotalRecordCount": 0,
                                                "AuditDetails": []}
    org.audit.enabled = True
    await alice.patch(f"{API}/accounts({account_id})", json={"name": "Renamed"}, headers={"If-Match": "*"})
    again = (await alice.get(HISTORY, params=_history_params("accounts", account_id))).json()
    assert len(again["AuditDetailCollection"]["AuditDetails"]) == 1


def test_an_environment_created_without_auditing_has_no_history():
    org = create_sandbox_organization(seed=7, today=TODAY, auditing=False)
    assert org.audit.enabled is False and org.rows["audit"] == {}


@pytest.mark.parametrize(("table", "audited"), [("account", True), ("opportunity", True), ("usersettings", False),
                                                ("audit", False)])
async def test_auditing_is_described_on_tables_and_columns(alice, table, audited):
    entity = (await alice.get(f"{API}/EntityDefinitions(LogicalName='{table}')?$select=IsAuditEnabled")).json()
    assert entity["IsAuditEnabled"]["Value"] is audited
    assert entity["IsAuditEnabled"]["ManagedPropertyLogicalName"] == "canmodifyauditsettings"
    columns = (await alice.get(f"{API}/EntityDefinitions(LogicalName='account')/Attributes?"
                               "$select=LogicalName,IsAuditEnabled")).json()["value"]
    flags = {column["LogicalName"]: column["IsAuditEnabled"]["Value"] for column in columns}
    assert flags["name"] is True and flags["modifiedon"] is False and flags["versionnumber"] is False


@pytest.mark.parametrize(("action", "status", "code", "label"), [("WinOpportunity", 3, 44, "Win"),
                                                                  ("LoseOpportunity", 5, 45, "Lose")])
async def test_closing_an_opportunity_is_recorded_as_win_or_lose(alice, org, action, status, code, label):
    opportunity = next(row for row in org.rows["opportunity"].values()
                       if row["ownerid"].id == ALICE.systemuser_id and row["statecode"] == 0)
    opportunity_id = opportunity["opportunityid"]
    response = await alice.post(f"{API}/{action}", json={"Status": status, "OpportunityClose": {
        "subject": "Closed", "opportunityid@odata.bind": f"/opportunities({opportunity_id})"}})
    assert response.status_code == 204, response.text
    rows = (await alice.get(f"{API}/audits?$select=action,_userid_value&$orderby=createdon desc&$filter="
                            f"_objectid_value eq {opportunity_id}", headers=ANNOTATE_ALL)).json()["value"]
    assert (rows[0]["action"], rows[0]["action@OData.Community.Display.V1.FormattedValue"]) == (code, label)
    assert rows[0]["_userid_value"] == ALICE.systemuser_id
    history = (await alice.get(HISTORY, params=_history_params("opportunities", opportunity_id))).json()
    closing = history["AuditDetailCollection"]["AuditDetails"][0]
    assert (closing["OldValue"]["statecode"], closing["NewValue"]["statecode"]) == (0, 1 if code == 44 else 2)
    assert closing["NewValue"]["statuscode"] == status
    [close] = [row for row in org.rows["opportunityclose"].values()
               if row["opportunityid"] == LookupValue("opportunity", opportunity_id)]
    assert [entry.action for entry in org.audit.history("opportunityclose", close["activityid"])] == [1]


async def test_qualifying_a_lead_is_recorded_as_qualify(alice, org):
    lead = next(row for row in org.rows["lead"].values()
                if row["ownerid"].id == ALICE.systemuser_id and row["statecode"] == 0)
    response = await alice.post(f"{API}/leads({lead['leadid']})/Microsoft.Dynamics.CRM.QualifyLead", json={
        "CreateAccount": False, "CreateContact": True, "CreateOpportunity": False, "Status": 3})
    assert response.status_code == 200, response.text
    actions = [row["action"] for row in (await alice.get(
        f"{API}/audits?$select=action&$orderby=createdon desc&$filter=_objectid_value eq {lead['leadid']}"
    )).json()["value"]]
    assert actions[0] == 24
    [qualified, *_] = org.audit.history("lead", lead["leadid"])
    assert (qualified.old["statecode"], qualified.new["statecode"], qualified.new["statuscode"]) == (0, 1, 3)
    assert "parentcontactid" in qualified.new  # one Qualify row holds every change the qualification made
    contact_id = response.json()["value"][0]["contactid"]
    assert [entry.action for entry in org.audit.history("contact", contact_id)] == [1]
