"""Writes answered as Microsoft's documented examples answer them: deep insert, binding a collection on create,
single-property PUT and DELETE, clearing a lookup through its navigation property, and `Prefer: return=representation`.
Each test names the PD (MicrosoftDocs/powerapps-docs, powerapps-docs/developer/data-platform/) page."""

from __future__ import annotations

import re

from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB

ENTITY_ID = re.compile(rf"^{re.escape(BASE_URL)}/api/data/v9\.2/(\w+)\(([0-9a-f-]{{36}})\)$")


def _created(response) -> str:
    assert response.status_code == 204, response.text
    return ENTITY_ID.match(response.headers["odata-entityid"]).group(2)


def _alice_account(org) -> dict:
    return next(r for r in org.rows["account"].values() if r["ownerid"].id == ALICE.systemuser_id)


def _alice_task(org) -> dict:
    return next(r for r in org.rows["task"].values() if r["ownerid"].id == ALICE.systemuser_id)


async def test_deep_insert_creates_the_account_its_primary_contact_an_opportunity_and_its_task(alice, org):
    """webapi/create-entity-web-api.md, "Create related table rows in one operation": one POST, 204 with the
    account's OData-EntityId, four new records linked as the body nests them."""
    counts = {name: len(org.rows[name]) for name in ("account", "contact", "opportunity", "task")}
    response = await alice.post(f"{API}/accounts", json={
        "name": "Sample Account",
        "primarycontactid": {"firstname": "John", "lastname": "Smith"},
        "opportunity_customer_accounts": [
            {"name": "Opportunity associated to Sample Account",
             "Opportunity_Tasks": [{"subject": "Task associated to opportunity"}]},
        ],
    })
    account = org.rows["account"][_created(response)]
    contact = org.rows["contact"][account["primarycontactid"].id]
    assert contact["fullname"] == "John Smith"
    opportunity = next(o for o in org.rows["opportunity"].values()
                       if o["customerid"] == LookupValue("account", account["accountid"]))
    task = next(t for t in org.rows["task"].values()
                if t["regardingobjectid"] == LookupValue("opportunity", opportunity["opportunityid"]))
    assert task["subject"] == "Task associated to opportunity"
    assert {name: len(org.rows[name]) - before for name, before in counts.items()} == {
        "account": 1, "contact": 1, "opportunity": 1, "task": 1}
    assert all(row["ownerid"] == LookupValue("systemuser", ALICE.systemuser_id)
               for row in (account, contact, opportunity, task))


async def test_deep_insert_with_the_query_sample_shape(alice, org):
    """web-api-query-data-sample.md, Section 0: a primary contact with its own Contact_Tasks, and contacts and tasks
    of the account itself, all in one POST."""
    response = await alice.post(f"{API}/accounts", json={
        "name": "Contoso, Ltd. (sample)",
        "Account_Tasks": [{"subject": "Task 1 for Contoso, Ltd."}],
        "primarycontactid": {"firstname": "Yvonne", "lastname": "McKay (sample)", "jobtitle": "Coffee Master",
                             "annualincome": 45000, "Contact_Tasks": [{"subject": "Task 1 for Yvonne McKay"}]},
        "contact_customer_accounts": [{"firstname": "Susanna", "lastname": "Stubberod (sample)",
                                       "annualincome": 52000}],
    })
    account_id = _created(response)
    body = (await alice.get(f"{API}/accounts({account_id})?$select=name&$expand=primarycontactid($select=fullname,"
                            "annualincome),contact_customer_accounts($select=fullname),Account_Tasks($select=subject)"
                            )).json()
    assert body["primarycontactid"]["fullname"] == "Yvonne McKay (sample)"
    assert body["primarycontactid"]["annualincome"] == 45000
    assert [c["fullname"] for c in body["contact_customer_accounts"]] == ["Susanna Stubberod (sample)"]
    assert [t["subject"] for t in body["Account_Tasks"]] == ["Task 1 for Contoso, Ltd."]
    yvonne = body["primarycontactid"]["contactid"]
    tasks = (await alice.get(f"{API}/contacts({yvonne})/Contact_Tasks?$select=subject")).json()["value"]
    assert [t["subject"] for t in tasks] == ["Task 1 for Yvonne McKay"]


async def test_a_failing_part_of_a_deep_insert_keeps_nothing(alice, org):
    """web-api-basic-operations-sample.md, Section 3: deep insert "is atomic"."""
    before = {name: len(rows) for name, rows in org.rows.items()}
    response = await alice.post(f"{API}/accounts", json={
        "name": "Half made", "primarycontactid": {"lastname": "Kept?"},
        "opportunity_customer_accounts": [{"name": "ok"}, {"name": "x", "salesstage": 99}],
    })
    assert response.status_code == 400
    assert {name: len(rows) for name, rows in org.rows.items()} == before


async def test_binding_existing_tasks_on_create_with_return_representation(alice, org):
    """webapi/create-entity-web-api.md, "Associate table rows on create": `Account_Tasks@odata.bind` takes an array
    of references; the 201 body expands them (context includes the expand)."""
    tasks = [t for t in org.rows["task"].values() if t["ownerid"].id == ALICE.systemuser_id][:2]
    contact = next(c for c in org.rows["contact"].values() if c["ownerid"].id == ALICE.systemuser_id)
    response = await alice.post(
        f"{API}/accounts?$select=name&$expand=primarycontactid($select=fullname),Account_Tasks($select=subject)",
        headers={"Prefer": "return=representation"},
        json={"name": "Sample Account", "primarycontactid@odata.bind": f"/contacts({contact['contactid']})",
              "Account_Tasks@odata.bind": [f"/tasks({t['activityid']})" for t in tasks]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["@odata.context"] == (f"{BASE_URL}/api/data/v9.2/$metadata#accounts(name,primarycontactid(fullname),"
                                      "Account_Tasks(subject))/$entity")
    assert body["primarycontactid"]["contactid"] == contact["contactid"]
    assert {t["activityid"] for t in body["Account_Tasks"]} == {t["activityid"] for t in tasks}
    assert all(org.rows["task"][t["activityid"]]["regardingobjectid"] == LookupValue("account", body["accountid"])
               for t in tasks)
    assert response.headers["preference-applied"] == "return=representation"


async def test_a_collection_bind_to_someone_elses_record_is_refused_and_keeps_nothing(alice, org):
    bobs_task = next(t for t in org.rows["task"].values() if t["ownerid"].id == BOB.systemuser_id)
    before = len(org.rows["account"])
    response = await alice.post(f"{API}/accounts", json={
        "name": "x", "Account_Tasks@odata.bind": [f"/tasks({_alice_task(org)['activityid']})",
                                                  f"/tasks({bobs_task['activityid']})"]})
    assert response.status_code == 404
    assert len(org.rows["account"]) == before


async def test_collections_cannot_be_set_on_update(alice, org):
    """associate-disassociate-entities-using-web-api.md: associating a collection on update is "possible only with
    activityparty"; use `$ref` instead."""
    account = _alice_account(org)
    response = await alice.patch(f"{API}/accounts({account['accountid']})", headers={"If-Match": "*"},
                                 json={"Account_Tasks@odata.bind": [f"/tasks({_alice_task(org)['activityid']})"]})
    assert response.status_code == 400


async def test_put_a_single_property(alice, org):
    """webapi/update-delete-entities-using-web-api.md, "Update a single property value": `PUT accounts(<id>)/name
    {"value": ...}` answers 204 and changes only that column."""
    account = _alice_account(org)
    version = account["versionnumber"]
    response = await alice.put(f"{API}/accounts({account['accountid']})/name",
                               json={"value": "Updated Sample Account Name"})
    assert response.status_code == 204 and response.content == b""
    row = org.rows["account"][account["accountid"]]
    assert row["name"] == "Updated Sample Account Name" and row["versionnumber"] > version
    read = (await alice.get(f"{API}/accounts({account['accountid']})/name")).json()
    assert read["value"] == "Updated Sample Account Name"


async def test_delete_a_single_property(alice, org):
    """webapi/update-delete-entities-using-web-api.md, "Delete a single property value": `DELETE
    accounts(<id>)/description` answers 204 and clears it."""
    account = _alice_account(org)
    await alice.put(f"{API}/accounts({account['accountid']})/description", json={"value": "to be removed"})
    response = await alice.delete(f"{API}/accounts({account['accountid']})/description")
    assert response.status_code == 204
    assert org.rows["account"][account["accountid"]]["description"] is None


async def test_single_property_writes_refuse_lookups_and_others_records(alice, bob, org):
    """The same page: a single-property DELETE "can't be used with a single-valued navigation property"."""
    account = _alice_account(org)
    assert (await alice.delete(f"{API}/accounts({account['accountid']})/primarycontactid")).status_code == 400
    assert (await bob.put(f"{API}/accounts({account['accountid']})/name", json={"value": "x"})).status_code == 404
    assert (await alice.put(f"{API}/accounts({account['accountid']})/bogus", json={"value": 1})).status_code == 404


async def test_null_on_a_navigation_property_clears_the_lookup(alice, org):
    """associate-disassociate-entities-using-web-api.md, "Disassociate tables on update": `{"parentaccountid": null,
    "primarycontactid": null}` as well as the `@odata.bind: null` form."""
    account = next(a for a in org.rows["account"].values()
                   if a["ownerid"].id == ALICE.systemuser_id and a["primarycontactid"])
    response = await alice.patch(f"{API}/accounts({account['accountid']})", headers={"If-Match": "*"},
                                 json={"parentaccountid": None, "primarycontactid": None})
    assert response.status_code == 204, response.text
    row = org.rows["account"][account["accountid"]]
    assert row["primarycontactid"] is None and row["parentaccountid"] is None


async def test_update_with_representation_is_200_without_entity_id_and_ignores_expand(alice, org):
    """webapi/update-delete-entities-using-web-api.md, "Update with data returned": 200 with the record, "The
    $expand query option will be ignored if used"."""
    account = _alice_account(org)
    response = await alice.patch(
        f"{API}/accounts({account['accountid']})?$select=name,creditonhold&$expand=primarycontactid($select=fullname)",
        headers={"Prefer": "return=representation", "If-Match": "*"}, json={"name": "Updated Sample Account"})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Updated Sample Account" and "primarycontactid" not in body
    assert set(body) == {"@odata.context", "@odata.etag", "name", "creditonhold", "accountid"}
    assert response.headers["preference-applied"] == "return=representation"
    assert "odata-entityid" not in response.headers


async def test_documented_create_body_with_category_and_coordinates(alice, org):
    """webapi/create-entity-web-api.md, "Basic Create" posts these account columns."""
    response = await alice.post(f"{API}/accounts", json={
        "name": "Sample Account", "creditonhold": False, "address1_latitude": 47.639583,
        "description": "This is the description of the sample account", "revenue": 5000000,
        "accountcategorycode": 1})
    row = org.rows["account"][_created(response)]
    assert (row["accountcategorycode"], row["address1_latitude"], row["revenue"]) == (1, 47.639583, 5000000.0)
