"""The activity timeline over HTTP: every activity has a read-only activitypointer twin; activity parties are written
through their activity and read through activityparties or `<activity>_activity_parties`; notes hang off records by
a polymorphic objectid; the navigation properties Dataverse names (Account_Tasks, Contact_Phonecalls,
regardingobjectid_<table>_<activity>, Account_Annotation) work and are described in the metadata."""

from __future__ import annotations

import base64
import re

import pytest
from sandbox_dataverse_support import ANNOTATE_ALL, API, BASE_URL, FORMATTED

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE

ENTITY_ID = re.compile(rf"^{re.escape(BASE_URL)}/api/data/v9\.2/(\w+)\(([0-9a-f-]{{36}})\)$")


def _created_id(response) -> str:
    assert response.status_code == 204, response.text
    return ENTITY_ID.match(response.headers["odata-entityid"]).group(2)


def _alices(org, table: str) -> dict:
    return next(row for row in org.rows[table].values() if row["ownerid"].id == ALICE.systemuser_id)


async def _email_to(alice, contact: dict, opportunity: dict) -> str:
    return _created_id(await alice.post(f"{API}/emails", json={
        "subject": "Pricing", "description": "Attached is the quote.", "directioncode": True,
        "regardingobjectid_opportunity_email@odata.bind": f"/opportunities({opportunity['opportunityid']})",
        "email_activity_parties": [
            {"partyid_systemuser@odata.bind": f"/systemusers({ALICE.systemuser_id})", "participationtypemask": 1},
            {"partyid_contact@odata.bind": f"/contacts({contact['contactid']})", "participationtypemask": 2},
            {"addressused": "someone@elsewhere.example", "participationtypemask": 3},
        ]}))


async def test_an_email_has_an_activitypointer_twin_with_the_same_id_and_columns(alice, org):
    opportunity, contact = _alices(org, "opportunity"), _alices(org, "contact")
    email_id = await _email_to(alice, contact, opportunity)
    email = (await alice.get(f"{API}/emails({email_id})")).json()
    pointer = (await alice.get(f"{API}/activitypointers({email_id})?$select=activityid,activitytypecode,subject,"
                               "statecode,_regardingobjectid_value,scheduledstart,scheduledend,actualend,sortdate,"
                               "createdon,modifiedon,_ownerid_value")).json()
    assert pointer["activitytypecode"] == "email" and pointer["activityid"] == email_id
    for column in ("subject", "statecode", "_regardingobjectid_value", "createdon", "modifiedon", "_ownerid_value"):
        assert pointer[column] == email[column], column
    assert pointer["_regardingobjectid_value"] == opportunity["opportunityid"]
    assert pointer["sortdate"] == email["sortdate"] == email["createdon"]  # open, nothing scheduled: when created


@pytest.mark.parametrize(("method", "suffix", "message"), [
    ("POST", "", "Create"), ("PATCH", "({id})", "Update"), ("DELETE", "({id})", "Delete")])
async def test_activitypointers_are_read_only(carol, org, method, suffix, message):
    task_id = next(iter(org.rows["task"]))
    response = await carol.request(method, f"{API}/activitypointers{suffix.format(id=task_id)}",
                                   json={"subject": "x"} if method != "DELETE" else None)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80040800"
    assert error["message"].startswith(f"The '{message}' method does not support entities of type 'activitypointer'")
    assert task_id in org.rows["task"]


async def test_parties_are_created_with_the_activity_and_read_both_ways(alice, org):
    opportunity, contact = _alices(org, "opportunity"), _alices(org, "contact")
    email_id = await _email_to(alice, contact, opportunity)
    expanded = (await alice.get(
        f"{API}/emails({email_id})?$select=subject&$expand=email_activity_parties($select=participationtypemask,"
        "addressused,_partyid_value)", headers=ANNOTATE_ALL)).json()
    parties = {party["participationtypemask"]: party for party in expanded["email_activity_parties"]}
    assert set(parties) == {1, 2, 3}
    assert parties[1]["_partyid_value"] == ALICE.systemuser_id
    assert parties[1]["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert parties[2]["_partyid_value"] == contact["contactid"]
    assert parties[2]["_partyid_value" + FORMATTED] == contact["fullname"]
    assert parties[2]["participationtypemask" + FORMATTED] == "To Recipient"
    assert parties[3]["_partyid_value"] is None and parties[3]["addressused"] == "someone@elsewhere.example"
    listed = (await alice.get(f"{API}/activityparties?$filter=_activityid_value eq {email_id}"
                              "&$select=participationtypemask")).json()["value"]
    assert sorted(party["participationtypemask"] for party in listed) == [1, 2, 3]


async def test_an_unknown_participation_mask_is_refused_and_nothing_is_created(alice, org):
    contact = _alices(org, "contact")
    before = len(org.rows["phonecall"])
    response = await alice.post(f"{API}/phonecalls", json={"subject": "Hello", "phonecall_activity_parties": [
        {"partyid_contact@odata.bind": f"/contacts({contact['contactid']})", "participationtypemask": 42}]})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "0x80094006",
                                        "message": "The Activity Party type Mask '42' not found."}
    assert len(org.rows["phonecall"]) == before


async def test_parties_are_replaced_by_an_update_or_a_put_on_the_collection(alice, org):
    opportunity, contact = _alices(org, "opportunity"), _alices(org, "contact")
    email_id = await _email_to(alice, contact, opportunity)
    patched = await alice.patch(f"{API}/emails({email_id})", headers={"If-Match": "*"}, json={
        "email_activity_parties": [{"partyid_contact@odata.bind": f"/contacts({contact['contactid']})",
                                    "participationtypemask": 4}]})
    assert patched.status_code == 204, patched.text

    def masks() -> list[int]:
        return sorted(row["participationtypemask"] for row in org.all_rows("activityparty")
                      if row["activityid"] == LookupValue("email", email_id))

    assert masks() == [4]
    put = await alice.put(f"{API}/emails({email_id})/email_activity_parties", json={"value": [
        {"partyid_systemuser@odata.bind": f"/systemusers({ALICE.systemuser_id})", "participationtypemask": 1},
        {"partyid_contact@odata.bind": f"/contacts({contact['contactid']})", "participationtypemask": 2}]})
    assert put.status_code == 204 and put.content == b""
    assert masks() == [1, 2]


async def test_activityparties_can_only_be_listed(carol, org):
    party_id = next(iter(org.rows["activityparty"]))
    created = await carol.post(f"{API}/activityparties", json={"participationtypemask": 1})
    single = await carol.get(f"{API}/activityparties({party_id})")
    assert (created.status_code, created.json()["error"]["code"]) == (400, "0x80040800")
    assert single.json()["error"]["message"].startswith("The 'Retrieve' method does not support entities of type "
                                                        "'activityparty'")


async def test_parties_of_activities_a_rep_cannot_read_are_invisible(bob, org):
    visible = (await bob.get(f"{API}/activityparties?$select=_activityid_value")).json()["value"]
    readable = {row["activityid"] for row in (await bob.get(f"{API}/activitypointers?$select=activityid")).json()[
        "value"]}
    assert visible and {party["_activityid_value"] for party in visible} <= readable
    assert len(visible) < len(org.rows["activityparty"])


async def test_typed_regarding_binds_and_per_table_collections(alice, org):
    contact = _alices(org, "contact")
    call_id = _created_id(await alice.post(f"{API}/phonecalls", json={
        "subject": "Quick check-in", "directioncode": True,
        "regardingobjectid_contact_phonecall@odata.bind": f"/contacts({contact['contactid']})"}))
    body = (await alice.get(f"{API}/contacts({contact['contactid']})?$select=fullname"
                            "&$expand=Contact_Phonecalls($select=subject)")).json()
    assert call_id in {call["activityid"] for call in body["Contact_Phonecalls"]}
    account = _alices(org, "account")
    tasks = (await alice.get(f"{API}/accounts({account['accountid']})?$select=name"
                             "&$expand=Account_Tasks($select=subject)")).json()["Account_Tasks"]
    assert {task["activityid"] for task in tasks} == {
        row["activityid"] for row in org.rows["task"].values()
        if row["regardingobjectid"] == LookupValue("account", account["accountid"])}


async def test_a_note_binds_its_record_and_knows_when_it_is_a_document(alice, org):
    account = _alices(org, "account")
    plain = _created_id(await alice.post(f"{API}/annotations", json={
        "subject": "Call notes", "notetext": "Wants a demo.",
        "objectid_account@odata.bind": f"/accounts({account['accountid']})"}))
    body = base64.b64encode(b"hello world").decode()
    document = _created_id(await alice.post(f"{API}/annotations", json={
        "subject": "Quote", "filename": "quote.txt", "mimetype": "text/plain", "documentbody": body,
        "objectid_account@odata.bind": f"/accounts({account['accountid']})"}))
    note = (await alice.get(f"{API}/annotations({plain})?$select=subject,notetext,_objectid_value,objecttypecode,"
                            "isdocument,createdon,_ownerid_value", headers=ANNOTATE_ALL)).json()
    assert note["_objectid_value"] == account["accountid"] and note["objecttypecode"] == "account"
    assert note["_objectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "objectid_account"
    assert note["isdocument"] is False and note["_ownerid_value"] == ALICE.systemuser_id
    attached = (await alice.get(f"{API}/annotations({document})?$select=isdocument,filesize")).json()
    assert attached["isdocument"] is True and attached["filesize"] == len(b"hello world")
    listed = (await alice.get(f"{API}/accounts({account['accountid']})?$select=name"
                              "&$expand=Account_Annotation($select=subject)")).json()["Account_Annotation"]
    assert {plain, document} <= {row["annotationid"] for row in listed}


async def test_notes_go_with_their_record(carol, org):
    account = next(row for row in org.rows["account"].values()
                   if any(note["objectid"] == LookupValue("account", row["accountid"])
                          for note in org.rows["annotation"].values()))
    notes = [key for key, note in org.rows["annotation"].items()
             if note["objectid"] == LookupValue("account", account["accountid"])]
    assert (await carol.delete(f"{API}/accounts({account['accountid']})")).status_code == 204
    assert not any(key in org.rows["annotation"] for key in notes)


async def test_a_new_opportunity_starts_in_the_first_sales_stage(alice, org):
    account = _alices(org, "account")
    bare = _created_id(await alice.post(f"{API}/opportunities", json={
        "name": "Fresh deal", "customerid_account@odata.bind": f"/accounts({account['accountid']})"}))
    staged = _created_id(await alice.post(f"{API}/opportunities", json={"name": "Later deal", "salesstage": 2}))
    row = (await alice.get(f"{API}/opportunities({bare})?$select=salesstage,stepname", headers=ANNOTATE_ALL)).json()
    assert (row["salesstage"], row["salesstage" + FORMATTED], row["stepname"]) == (0, "Qualify", "1-Qualify")
    assert org.rows["opportunity"][staged]["stepname"] == "3-Propose"


async def test_the_metadata_describes_the_timeline_tables_and_navigations(alice):
    async def names(path: str, field: str) -> set[str]:
        return {item[field] for item in (await alice.get(f"{API}/{path}")).json()["value"]}

    account = await names("EntityDefinitions(LogicalName='account')/OneToManyRelationships",
                          "ReferencedEntityNavigationPropertyName")
    assert {"Account_Tasks", "Account_Emails", "Account_ActivityPointers", "Account_Annotation"} <= account
    contact = await names("EntityDefinitions(LogicalName='contact')/OneToManyRelationships",
                          "ReferencedEntityNavigationPropertyName")
    assert {"Contact_Phonecalls", "Contact_Annotation", "contact_activity_parties"} <= contact
    assert "email_activity_parties" in await names(
        "EntityDefinitions(LogicalName='email')/OneToManyRelationships", "ReferencedEntityNavigationPropertyName")
    party = await names("EntityDefinitions(LogicalName='activityparty')/ManyToOneRelationships",
                        "ReferencingEntityNavigationPropertyName")
    assert {"partyid_contact", "partyid_systemuser", "activityid_email"} <= party
    note = await names("EntityDefinitions(LogicalName='annotation')/Attributes?$select=LogicalName,AttributeType",
                       "LogicalName")
    assert {"subject", "notetext", "objectid", "isdocument", "createdon", "ownerid"} <= note
    pointer = (await alice.get(f"{API}/EntityDefinitions(LogicalName='activitypointer')"
                               "?$select=EntitySetName,IsActivity,PrimaryIdAttribute")).json()
    assert (pointer["EntitySetName"], pointer["PrimaryIdAttribute"]) == ("activitypointers", "activityid")
