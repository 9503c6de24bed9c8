"""Writes over HTTP as Dataverse answers them: create 204 + OData-EntityId (201 with return=representation),
@odata.bind on navigation properties, PATCH upsert and If-Match/If-None-Match, 412 on a stale etag, delete with
cascade, and the 400s for unknown, read-only, unbound-lookup, required and out-of-range values."""

from __future__ import annotations

import re

import pytest
from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB, SANDBOX_TEAM_ID

ENTITY_ID = re.compile(rf"^{re.escape(BASE_URL)}/api/data/v9\.2/(\w+)\(([0-9a-f-]{{36}})\)$")


def _alice_contact(org) -> dict:
    return next(r for r in org.rows["contact"].values() if r["ownerid"].id == ALICE.systemuser_id)


def _alice_account(org) -> dict:
    return next(r for r in org.rows["account"].values() if r["ownerid"].id == ALICE.systemuser_id)


async def test_create_answers_204_with_the_new_records_url(alice, org):
    contact = _alice_contact(org)
    response = await alice.post(f"{API}/accounts", json={
        "name": "Zeta Widgets", "revenue": 125000, "industrycode": 7,
        "primarycontactid@odata.bind": f"/contacts({contact['contactid']})"})
    assert response.status_code == 204 and response.content == b""
    match = ENTITY_ID.match(response.headers["odata-entityid"])
    assert match and match.group(1) == "accounts"
    row = org.rows["account"][match.group(2)]
    assert row["name"] == "Zeta Widgets" and row["revenue"] == 125000.0
    assert row["primarycontactid"] == LookupValue("contact", contact["contactid"])
    assert row["ownerid"] == LookupValue("systemuser", ALICE.systemuser_id)
    assert row["createdby"] == LookupValue("systemuser", ALICE.systemuser_id)
    assert row["createdon"] == org.now() and (row["statecode"], row["statuscode"]) == (0, 1)


async def test_create_with_return_representation_answers_201_with_the_body(alice):
    """201 with the record and no OData-EntityId header (PD webapi/create-entity-web-api.md, "Create with data
    returned": "the OData-EntityId header containing the URI to the created record is not returned")."""
    response = await alice.post(f"{API}/contacts?$select=fullname,lastname", json={"firstname": "Ada",
                                                                                    "lastname": "Lovelace"},
                                headers={"Prefer": "return=representation"})
    assert response.status_code == 201
    body = response.json()
    assert body["fullname"] == "Ada Lovelace"
    assert body["@odata.context"].endswith("$metadata#contacts(fullname,lastname)/$entity")
    assert response.headers["etag"] == body["@odata.etag"]
    assert response.headers["preference-applied"] == "return=representation"
    assert "odata-entityid" not in response.headers


async def test_full_url_and_polymorphic_typed_binds(alice, org):
    account = _alice_account(org)
    response = await alice.post(f"{API}/opportunities", json={
        "name": "Typed bind",
        "customerid_account@odata.bind": f"{BASE_URL}/api/data/v9.2/accounts({account['accountid']})",
        "estimatedclosedate": "2026-12-01", "salesstage": 1})
    assert response.status_code == 204, response.text
    row = org.rows["opportunity"][ENTITY_ID.match(response.headers["odata-entityid"]).group(2)]
    assert row["customerid"] == LookupValue("account", account["accountid"])
    assert str(row["estimatedclosedate"]) == "2026-12-01"


async def test_binding_the_column_name_instead_of_the_navigation_property_is_a_400(alice, org):
    """0x80048d19 "Error identified in Payload provided by the user for Entity :'contacts' ..." (SupportArticles-docs
    support/power-platform/dataverse/dataverse-web-api-and-sdk/web-api-client-errors.md)."""
    account = _alice_account(org)
    response = await alice.post(f"{API}/contacts", json={
        "lastname": "Wrong", "parentcustomerid@odata.bind": f"accounts({account['accountid']})"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80048d19"
    assert error["message"].startswith("Error identified in Payload provided by the user for Entity :'contacts'  "
                                       "---->  InnerException : Microsoft.OData.ODataException: An undeclared property "
                                       "'parentcustomerid' which only has property annotations in the payload but no "
                                       "property value was found in the payload.")


async def test_typed_navigation_property_with_the_wrong_target_is_a_400(alice, org):
    contact = _alice_contact(org)
    response = await alice.post(f"{API}/opportunities", json={
        "name": "x", "customerid_account@odata.bind": f"/contacts({contact['contactid']})"})
    assert response.status_code == 400


async def test_bind_to_a_missing_or_hidden_record_is_404(alice, org):
    bobs = next(r for r in org.rows["contact"].values() if r["ownerid"].id == BOB.systemuser_id)
    for target in ("00000000-0000-4000-8000-000000000001", bobs["contactid"]):
        response = await alice.post(f"{API}/accounts", json={
            "name": "x", "primarycontactid@odata.bind": f"/contacts({target})"})
        assert response.status_code == 404


@pytest.mark.parametrize(("payload", "code"), [
    ({"name": "x", "bogus": 1}, "0x0"),
    ({"name": "x", "_primarycontactid_value": "00000000-0000-4000-8000-000000000001"}, "0x80048d19"),
    ({"name": "x", "industrycode": 999}, "0x8004431a"),
    ({"name": "x", "revenue": "lots"}, "0x80060888"),
    ({"name": "x" * 161}, "0x80044331"),
    ({"name": "x", "statecode": 1, "statuscode": 1}, "0x80048408"),  # InvalidStateCodeStatusCode
])
async def test_invalid_account_payloads_are_rejected(alice, org, payload, code):
    before = len(org.rows["account"])
    response = await alice.post(f"{API}/accounts", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert len(org.rows["account"]) == before


async def test_columns_not_valid_for_create_are_ignored(alice, org):
    """"If you try to set a value in a create or update operation for a column that isn't valid for that operation,
    the value is ignored." (PD entity-attribute-metadata.md, "Supported operations and form usage for columns")."""
    response = await alice.post(f"{API}/contacts", json={"lastname": "X", "fullname": "Forged Name",
                                                           "createdon": "2020-01-01T00:00:00Z"})
    assert response.status_code == 204, response.text
    row = org.rows["contact"][ENTITY_ID.match(response.headers["odata-entityid"]).group(2)]
    assert row["fullname"] == "X" and row["createdon"] == org.now()


async def test_update_bumps_the_version_and_modified_stamps(alice, org):
    account = _alice_account(org)
    url = f"{API}/accounts({account['accountid']})"
    before = (await alice.get(url)).headers["etag"]
    response = await alice.patch(url, json={"name": "Renamed"}, headers={"If-Match": before})
    assert response.status_code == 204
    assert ENTITY_ID.match(response.headers["odata-entityid"]).group(2) == account["accountid"]
    after = (await alice.get(url)).headers["etag"]
    assert int(after[3:-1]) > int(before[3:-1])
    assert org.rows["account"][account["accountid"]]["name"] == "Renamed"


async def test_stale_if_match_is_412(alice, org):
    account = _alice_account(org)
    url = f"{API}/accounts({account['accountid']})"
    stale = (await alice.get(url)).headers["etag"]
    await alice.patch(url, json={"telephone1": "1"})
    response = await alice.patch(url, json={"name": "Lost update"}, headers={"If-Match": stale})
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "0x80060882"
    assert org.rows["account"][account["accountid"]]["name"] != "Lost update"


async def test_if_match_star_forbids_creation(alice, org):
    missing = "11111111-2222-4333-8444-555555555555"
    response = await alice.patch(f"{API}/accounts({missing})", json={"name": "Ghost"}, headers={"If-Match": "*"})
    assert response.status_code == 404
    assert missing not in org.rows["account"]


async def test_patch_without_if_match_upserts(alice, org):
    new_id = "11111111-2222-4333-8444-555555555556"
    response = await alice.patch(f"{API}/accounts({new_id})", json={"name": "Upserted"})
    assert response.status_code == 204
    assert org.rows["account"][new_id]["name"] == "Upserted"


async def test_if_none_match_star_is_create_only(alice, org):
    account = _alice_account(org)
    response = await alice.patch(f"{API}/accounts({account['accountid']})", json={"name": "Overwrite"},
                                 headers={"If-None-Match": "*"})
    assert response.status_code == 412
    fresh = "11111111-2222-4333-8444-555555555557"
    created = await alice.patch(f"{API}/accounts({fresh})", json={"name": "Fresh"}, headers={"If-None-Match": "*"})
    assert created.status_code == 204 and fresh in org.rows["account"]


async def test_bind_null_clears_a_lookup(alice, org):
    account = _alice_account(org)
    assert account["primarycontactid"] is not None
    response = await alice.patch(f"{API}/accounts({account['accountid']})", json={"primarycontactid@odata.bind": None})
    assert response.status_code == 204
    assert org.rows["account"][account["accountid"]]["primarycontactid"] is None


async def test_update_with_representation_is_200(alice, org):
    account = _alice_account(org)
    response = await alice.patch(f"{API}/accounts({account['accountid']})?$select=name", json={"name": "Rep"},
                                 headers={"Prefer": "return=representation"})
    assert response.status_code == 200 and response.json()["name"] == "Rep"


async def test_changing_state_picks_a_matching_status(alice, org):
    account = next(r for r in org.rows["account"].values()
                   if r["ownerid"].id == ALICE.systemuser_id and r["statecode"] == 0)
    response = await alice.patch(f"{API}/accounts({account['accountid']})", json={"statecode": 1})
    assert response.status_code == 204
    assert (org.rows["account"][account["accountid"]]["statuscode"]) == 2


async def test_delete_cascades_to_contacts_and_activities_and_unlinks_opportunities(carol, org):
    account = next(a for a in org.rows["account"].values()
                   if any(o["parentaccountid"] and o["parentaccountid"].id == a["accountid"]
                          for o in org.rows["opportunity"].values()))
    target = LookupValue("account", account["accountid"])
    contacts = [c["contactid"] for c in org.rows["contact"].values() if c["parentcustomerid"] == target]
    tasks = [t["activityid"] for name in ("appointment", "task", "phonecall") for t in org.rows[name].values()
             if t["regardingobjectid"] == target]
    linked = [o["opportunityid"] for o in org.rows["opportunity"].values() if o["parentaccountid"] == target]
    assert contacts and tasks and linked
    response = await carol.delete(f"{API}/accounts({account['accountid']})")
    assert response.status_code == 204
    assert account["accountid"] not in org.rows["account"]
    assert not set(contacts) & set(org.rows["contact"])
    assert all(org.get_row("activitypointer", activity) is None for activity in tasks)
    for opportunity_id in linked:
        if opportunity_id in org.rows["opportunity"]:  # customerid (Cascade) may have removed it
            assert org.rows["opportunity"][opportunity_id]["parentaccountid"] is None
    assert (await carol.get(f"{API}/accounts({account['accountid']})")).status_code == 404


async def test_deleting_a_contact_removes_the_link_from_its_account(carol, org):
    account = next(a for a in org.rows["account"].values() if a["primarycontactid"])
    contact_id = account["primarycontactid"].id
    assert (await carol.delete(f"{API}/contacts({contact_id})")).status_code == 204
    assert org.rows["account"][account["accountid"]]["primarycontactid"] is None


async def test_delete_missing_is_404(alice):
    response = await alice.delete(f"{API}/accounts(00000000-0000-4000-8000-00000000dead)")
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217"


async def test_delete_with_stale_if_match_is_412(alice, org):
    account = _alice_account(org)
    response = await alice.delete(f"{API}/accounts({account['accountid']})", headers={"If-Match": 'W/"1"'})
    assert response.status_code == 412 and account["accountid"] in org.rows["account"]


async def test_rep_may_assign_to_their_team(alice, org):
    response = await alice.post(f"{API}/accounts", json={
        "name": "Team deal", "ownerid@odata.bind": f"/teams({SANDBOX_TEAM_ID})"})
    assert response.status_code == 204
    row = org.rows["account"][ENTITY_ID.match(response.headers["odata-entityid"]).group(2)]
    assert row["ownerid"] == LookupValue("team", SANDBOX_TEAM_ID)


async def test_activities_are_created_per_type_and_appear_in_activitypointers(alice, org):
    account = _alice_account(org)
    response = await alice.post(f"{API}/tasks", json={
        "subject": "Call back", "scheduledend": "2026-11-20T15:00:00Z",
        "regardingobjectid_account_task@odata.bind": f"/accounts({account['accountid']})"})
    assert response.status_code == 204, response.text
    task_id = ENTITY_ID.match(response.headers["odata-entityid"]).group(2)
    pointer = (await alice.get(f"{API}/activitypointers({task_id})?$select=subject,activitytypecode")).json()
    assert pointer["activitytypecode"] == "task" and pointer["subject"] == "Call back"
    direct = await alice.post(f"{API}/activitypointers", json={"subject": "no"})
    assert direct.status_code == 400


async def test_body_must_be_a_json_object(alice):
    response = await alice.post(f"{API}/accounts", content=b"[1,2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
