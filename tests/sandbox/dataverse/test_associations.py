"""Associating and disassociating through $ref: 1:N (the child's lookup changes), N:N (intersect rows, from either
end), single-valued PUT/DELETE; the ManyToManyRelationships metadata; the errors for unknown navigations, `$ref`
after a column, duplicate links, and records the caller cannot see (404) or change (403)."""

from __future__ import annotations

import pytest
from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.schema_sales import MANY_TO_MANY
from dataverse.sandbox.users import ALICE, BOB, SANDBOX_TEAM_ID

FACING = next(rel for rel in MANY_TO_MANY if rel.schema_name == "opportunitycompetitors_association")
MEMBERS = next(rel for rel in MANY_TO_MANY if rel.schema_name == "listcontact_association")
N_TO_N_SELECT = ("SchemaName,IntersectEntityName,Entity1LogicalName,Entity2LogicalName,Entity1NavigationPropertyName,"
                 "Entity2NavigationPropertyName")


def _owned(org, table: str, user, **where) -> dict:
    return next(row for row in org.rows[table].values() if row["ownerid"].id == user.systemuser_id
                and all(row.get(key) == value for key, value in where.items()))


def _url(entity_set: str, record_id: str) -> str:
    return f"{BASE_URL}/api/data/v9.2/{entity_set}({record_id})"


def _unlinked_competitor(org, opportunity_id: str) -> str:
    linked = set(org.linked_ids(FACING, "opportunity", opportunity_id))
    return next(row_id for row_id in org.rows["competitor"] if row_id not in linked)


async def test_adding_a_contact_to_an_accounts_collection_sets_its_company(alice, org):
    account = _owned(org, "account", ALICE)
    contact = next(row for row in org.rows["contact"].values() if row["ownerid"].id == ALICE.systemuser_id
                   and row["parentcustomerid"] != LookupValue("account", account["accountid"]))
    response = await alice.post(f"{API}/accounts({account['accountid']})/contact_customer_accounts/$ref",
                                json={"@odata.id": _url("contacts", contact["contactid"])})
    assert response.status_code == 204 and response.content == b""
    assert response.headers["odata-version"] == "4.0"
    assert org.rows["contact"][contact["contactid"]]["parentcustomerid"] == LookupValue("account",
                                                                                        account["accountid"])


async def test_removing_a_child_by_key_or_by_id_clears_its_lookup(alice, org):
    account = _owned(org, "account", ALICE)
    children = [row for row in org.rows["contact"].values()
                if row["parentcustomerid"] == LookupValue("account", account["accountid"])][:2]
    first, second = children
    by_key = await alice.delete(f"{API}/accounts({account['accountid']})/contact_customer_accounts("
                                f"{first['contactid']})/$ref")
    by_id = await alice.delete(f"{API}/accounts({account['accountid']})/contact_customer_accounts/$ref"
                               f"?$id={_url('contacts', second['contactid'])}")
    assert (by_key.status_code, by_id.status_code) == (204, 204)
    assert org.rows["contact"][first["contactid"]]["parentcustomerid"] is None
    assert org.rows["contact"][second["contactid"]]["parentcustomerid"] is None


async def test_opportunity_and_competitor_are_linked_and_unlinked_n_to_n(alice, org):
    opportunity_id = _owned(org, "opportunity", ALICE, statecode=0)["opportunityid"]
    competitor_id = _unlinked_competitor(org, opportunity_id)
    url = f"{API}/opportunities({opportunity_id})/opportunitycompetitors_association"
    response = await alice.post(f"{url}/$ref", json={"@odata.id": f"competitors({competitor_id})"})
    assert response.status_code == 204
    assert competitor_id in org.linked_ids(FACING, "opportunity", opportunity_id)
    assert opportunity_id in org.linked_ids(FACING, "competitor", competitor_id)
    again = await alice.post(f"{url}/$ref", json={"@odata.id": f"competitors({competitor_id})"})
    assert again.status_code == 400
    assert again.json()["error"] == {"code": "0x80040237", "message": "Cannot insert duplicate key."}
    removed = await alice.delete(f"{url}({competitor_id})/$ref")
    assert removed.status_code == 204
    assert competitor_id not in org.linked_ids(FACING, "opportunity", opportunity_id)


async def test_n_to_n_works_from_the_other_end(alice, org):
    opportunity_id = _owned(org, "opportunity", ALICE, statecode=0)["opportunityid"]
    competitor_id = _unlinked_competitor(org, opportunity_id)
    response = await alice.post(f"{API}/competitors({competitor_id})/opportunitycompetitors_association/$ref",
                                json={"@odata.id": _url("opportunities", opportunity_id)})
    assert response.status_code == 204, response.text
    assert competitor_id in org.linked_ids(FACING, "opportunity", opportunity_id)


async def test_contacts_join_a_marketing_list(alice, org):
    marketing_list = _owned(org, "list", ALICE)
    member_ids = set(org.linked_ids(MEMBERS, "list", marketing_list["listid"]))
    contact = next(row for row in org.rows["contact"].values()
                   if row["ownerid"].id == ALICE.systemuser_id and row["contactid"] not in member_ids)
    response = await alice.post(f"{API}/lists({marketing_list['listid']})/listcontact_association/$ref",
                                json={"@odata.id": f"/contacts({contact['contactid']})"})
    assert response.status_code == 204
    assert marketing_list["listid"] in org.linked_ids(MEMBERS, "contact", contact["contactid"])
    assert contact["contactid"] in org.linked_ids(MEMBERS, "list", marketing_list["listid"])


async def test_deleting_a_record_removes_its_n_to_n_links(carol, org):
    opportunity_id, competitor_id = next(iter(org.links[FACING.schema_name]))
    assert (await carol.delete(f"{API}/competitors({competitor_id})")).status_code == 204
    assert competitor_id not in org.linked_ids(FACING, "opportunity", opportunity_id)


async def test_single_valued_put_and_delete_set_and_clear_the_lookup(alice, org):
    opportunity = _owned(org, "opportunity", ALICE, statecode=0)
    account = next(row for row in org.rows["account"].values() if row["ownerid"].id == ALICE.systemuser_id
                   and LookupValue("account", row["accountid"]) != opportunity["customerid"])
    url = f"{API}/opportunities({opportunity['opportunityid']})/customerid_account/$ref"
    response = await alice.put(url, json={"@odata.id": f"accounts({account['accountid']})"})
    assert response.status_code == 204, response.text
    assert org.rows["opportunity"][opportunity["opportunityid"]]["customerid"] == LookupValue(
        "account", account["accountid"])
    assert (await alice.delete(url)).status_code == 204
    assert org.rows["opportunity"][opportunity["opportunityid"]]["customerid"] is None


async def test_an_unknown_navigation_property_is_an_unknown_segment(alice, org):
    account = _owned(org, "account", ALICE)
    response = await alice.post(f"{API}/accounts({account['accountid']})/bogus_navigation/$ref",
                                json={"@odata.id": "contacts(00000000-0000-4000-8000-000000000001)"})
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "0x8006088a",
                                        "message": "Resource not found for the segment 'bogus_navigation'."}


async def test_ref_after_a_lookups_logical_name_is_refused(alice, org):
    contact = _owned(org, "contact", ALICE)
    response = await alice.put(f"{API}/contacts({contact['contactid']})/parentcustomerid/$ref",
                               json={"@odata.id": "accounts(00000000-0000-4000-8000-000000000001)"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x8006088a", "message": "The URI segment '$ref' is invalid after the segment 'parentcustomerid'."}


async def test_a_target_of_the_wrong_type_is_refused(alice, org):
    opportunity_id = _owned(org, "opportunity", ALICE, statecode=0)["opportunityid"]
    account = _owned(org, "account", ALICE)
    response = await alice.post(f"{API}/opportunities({opportunity_id})/opportunitycompetitors_association/$ref",
                                json={"@odata.id": f"accounts({account['accountid']})"})
    assert response.status_code == 400


@pytest.mark.parametrize("hidden_side", ["source", "target"])
async def test_relating_records_one_cannot_see_is_404(alice, org, hidden_side):
    mine, bobs = _owned(org, "account", ALICE), _owned(org, "contact", BOB)
    if hidden_side == "source":
        mine, bobs = _owned(org, "account", BOB), _owned(org, "contact", ALICE)
    response = await alice.post(f"{API}/accounts({mine['accountid']})/contact_customer_accounts/$ref",
                                json={"@odata.id": f"contacts({bobs['contactid']})"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217"


async def test_relating_a_read_only_shared_contact_is_403(alice, org):
    account = _owned(org, "account", ALICE)
    shared = next(org.rows["contact"][row_id] for (name, row_id), principals in org.shares.items()
                  if name == "contact" and SANDBOX_TEAM_ID in principals)
    response = await alice.post(f"{API}/accounts({account['accountid']})/contact_customer_accounts/$ref",
                                json={"@odata.id": f"contacts({shared['contactid']})"})
    assert response.status_code == 403
    assert "is missing prvWriteContact privilege" in response.json()["error"]["message"]


async def test_linking_to_a_read_only_shared_opportunity_is_403(alice, org):
    carols = next(row for row in org.rows["opportunity"].values() if row["ownerid"].id != ALICE.systemuser_id
                  and row["ownerid"].id != BOB.systemuser_id)
    org.share_with("opportunity", carols["opportunityid"], SANDBOX_TEAM_ID)
    competitor_id = _unlinked_competitor(org, carols["opportunityid"])
    response = await alice.post(f"{API}/competitors({competitor_id})/opportunitycompetitors_association/$ref",
                                json={"@odata.id": f"opportunities({carols['opportunityid']})"})
    assert response.status_code == 403
    assert "is missing prvAppendToOpportunity privilege" in response.json()["error"]["message"]


async def test_many_to_many_relationships_are_in_the_metadata(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='opportunity')/ManyToManyRelationships"
                            f"?$select={N_TO_N_SELECT}")).json()
    assert body["value"] == [{
        "MetadataId": body["value"][0]["MetadataId"], "SchemaName": "opportunitycompetitors_association",
        "IntersectEntityName": "opportunitycompetitors", "Entity1LogicalName": "opportunity",
        "Entity2LogicalName": "competitor", "Entity1NavigationPropertyName": "opportunitycompetitors_association",
        "Entity2NavigationPropertyName": "opportunitycompetitors_association"}]
    contact = (await alice.get(f"{API}/EntityDefinitions(LogicalName='contact')?$select=LogicalName"
                               "&$expand=ManyToManyRelationships($select=SchemaName,IntersectEntityName)")).json()
    assert contact["ManyToManyRelationships"] == [{"MetadataId": contact["ManyToManyRelationships"][0]["MetadataId"],
                                                   "SchemaName": "listcontact_association",
                                                   "IntersectEntityName": "listmember"}]


async def test_the_records_linked_n_to_n_are_read_through_either_navigation(alice, org):
    """`GET <set>(<id>)/<N:N navigation>` is the linked records' collection, with query options and `/$count`, from
    either end (crm-work section 5, "Read related"); it follows an association made with `$ref` at once."""
    opportunity = _owned(org, "opportunity", ALICE, statecode=0)
    opportunity_id = opportunity["opportunityid"]
    competitor_id = _unlinked_competitor(org, opportunity_id)
    url = f"{API}/opportunities({opportunity_id})/opportunitycompetitors_association"
    before = (await alice.get(f"{url}?$select=name")).json()
    assert before["@odata.context"].endswith("$metadata#competitors(name)")
    assert {row["competitorid"] for row in before["value"]} == set(org.linked_ids(FACING, "opportunity",
                                                                                    opportunity_id))
    assert (await alice.post(f"{url}/$ref", json={"@odata.id": _url("competitors", competitor_id)})).status_code == 204
    after = (await alice.get(f"{url}?$select=name&$filter=competitorid eq {competitor_id}")).json()["value"]
    assert [row["name"] for row in after] == [org.rows["competitor"][competitor_id]["name"]]
    count = await alice.get(f"{url}/$count")
    assert count.text.lstrip("\ufeff") == str(len(before["value"]) + 1)
    back = (await alice.get(f"{API}/competitors({competitor_id})/opportunitycompetitors_association"
                            "?$select=name")).json()["value"]
    assert opportunity_id in {row["opportunityid"] for row in back}
