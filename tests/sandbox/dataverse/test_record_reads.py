"""Reading records over HTTP: headers, @odata.context, etags, $select/$orderby/$top/$count/$expand, annotations only
on request, nulls as null, retrieve by key, and the errors Dataverse gives for bad segments, options and keys."""

from __future__ import annotations

import re

import pytest
from sandbox_dataverse_support import ANNOTATE_ALL, API, BASE_URL, FORMATTED

from dataverse.sandbox.dataverse.organization import SandboxOrganization
from dataverse.sandbox.users import ALICE, CAROL

ETAG = re.compile(r'^W/"\d+"$')


def _alice_account(org: SandboxOrganization) -> dict:
    return next(row for row in org.rows["account"].values() if row["ownerid"].id == ALICE.systemuser_id)


async def test_collection_has_odata_headers_context_and_etags(alice):
    response = await alice.get(f"{API}/accounts?$select=name,revenue&$top=3")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["x-ms-service-request-id"])
    body = response.json()
    assert body["@odata.context"] == f"{BASE_URL}/api/data/v9.2/$metadata#accounts(name,revenue)"
    assert len(body["value"]) == 3
    for row in body["value"]:
        assert ETAG.match(row["@odata.etag"])
        assert set(row) == {"@odata.etag", "name", "revenue", "accountid"}


async def test_request_ids_differ_per_request(alice):
    first = await alice.get(f"{API}/WhoAmI")
    second = await alice.get(f"{API}/WhoAmI")
    assert first.headers["x-ms-service-request-id"] != second.headers["x-ms-service-request-id"]


async def test_without_select_every_column_comes_back_with_nulls_as_null(alice, org):
    account = _alice_account(org)
    body = (await alice.get(f"{API}/accounts({account['accountid']})")).json()
    assert body["@odata.context"].endswith("$metadata#accounts/$entity")
    assert "description" in body and body["description"] is None
    assert body["_ownerid_value"] == ALICE.systemuser_id
    assert "ownerid" not in body
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["createdon"])


async def test_annotations_only_when_the_prefer_header_asks(alice):
    plain = (await alice.get(f"{API}/opportunities?$select=name,estimatedvalue,salesstage,_customerid_value&$top=1"))
    assert plain.headers.get("preference-applied") is None
    assert not any("@" in key for key in plain.json()["value"][0] if key != "@odata.etag")
    annotated = await alice.get(f"{API}/opportunities?$select=name,estimatedvalue,salesstage,_customerid_value&$top=1",
                                headers=ANNOTATE_ALL)
    assert annotated.headers["preference-applied"] == 'odata.include-annotations="*"'
    row = annotated.json()["value"][0]
    assert row["salesstage" + FORMATTED] in {"Qualify", "Develop", "Propose", "Close"}
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", row["estimatedvalue" + FORMATTED])
    assert row["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert row["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "customerid_account"
    assert row["_customerid_value" + FORMATTED]


async def test_formatted_value_only_annotation_leaves_lookup_metadata_out(alice):
    prefer = {"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'}
    row = (await alice.get(f"{API}/contacts?$select=fullname,_parentcustomerid_value,donotemail&$top=1",
                           headers=prefer)).json()["value"][0]
    assert row["_parentcustomerid_value" + FORMATTED]
    assert row["donotemail" + FORMATTED] in ("Allow", "Do Not Allow")
    assert not any(key.endswith("lookuplogicalname") for key in row)


async def test_money_and_dates_format_like_dataverse_in_the_users_time_zone(alice, org):
    account = _alice_account(org)
    account["revenue"] = 20000.0
    row = (await alice.get(f"{API}/accounts({account['accountid']})?$select=revenue,createdon",
                           headers=ANNOTATE_ALL)).json()
    assert row["revenue" + FORMATTED] == "$20,000.00"
    created_utc = account["createdon"]
    local = created_utc.astimezone(org.timezone_of(ALICE.systemuser_id))
    assert row["createdon" + FORMATTED].startswith(f"{local.month}/{local.day}/{local.year} ")
    assert row["createdon" + FORMATTED].endswith(("AM", "PM"))


async def test_date_only_column_is_a_plain_date(alice):
    row = (await alice.get(f"{API}/opportunities?$select=estimatedclosedate&$top=1", headers=ANNOTATE_ALL)).json()
    value = row["value"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", value["estimatedclosedate"])
    year, month, day = (int(part) for part in value["estimatedclosedate"].split("-"))
    assert value["estimatedclosedate" + FORMATTED] == f"{month}/{day}/{year}"


async def test_orderby_sorts_choices_by_value_and_text_case_insensitively(carol):
    rows = (await carol.get(f"{API}/opportunities?$select=salesstage,name&$orderby=salesstage desc,name asc")).json()
    stages = [row["salesstage"] for row in rows["value"]]
    assert stages == sorted(stages, reverse=True)
    names_in_stage_3 = [row["name"].lower() for row in rows["value"] if row["salesstage"] == 3]
    assert names_in_stage_3 == sorted(names_in_stage_3)


async def test_top_and_count(carol, org):
    body = (await carol.get(f"{API}/leads?$select=subject&$top=5&$count=true")).json()
    assert len(body["value"]) == 5
    assert body["@odata.count"] == len(org.rows["lead"])
    assert list(body)[:2] == ["@odata.context", "@odata.count"]


async def test_filter_is_applied(alice):
    body = (await alice.get(f"{API}/accounts?$select=name&$filter=startswith(name,'Contoso')")).json()
    assert body["value"] and all(row["name"].startswith("Contoso") for row in body["value"])


async def test_expand_single_valued_navigation_with_nested_select(alice, org):
    """In a collection query the expanded record has no @odata.etag (PD webapi/query/join-tables.md, "Expand
    single-valued navigation properties")."""
    body = (await alice.get(f"{API}/accounts?$select=name&$expand=primarycontactid($select=fullname,emailaddress1)"
                            "&$top=5")).json()
    assert body["@odata.context"].endswith("#accounts(name,primarycontactid(fullname,emailaddress1))")
    for row in body["value"]:
        contact = row["primarycontactid"]
        account = org.rows["account"][row["accountid"]]
        assert contact["contactid"] == account["primarycontactid"].id
        assert set(contact) == {"fullname", "emailaddress1", "contactid"}


async def test_expand_polymorphic_typed_navigation(alice):
    body = (await alice.get(f"{API}/opportunities?$select=name&$expand=customerid_account($select=name),"
                            "customerid_contact($select=fullname)&$top=3")).json()
    for row in body["value"]:
        assert row["customerid_account"]["name"]
        assert row["customerid_contact"] is None


async def test_expand_collection_lists_readable_children(carol, org):
    account = next(iter(org.rows["account"].values()))
    body = (await carol.get(f"{API}/accounts({account['accountid']})?$select=name"
                            "&$expand=contact_customer_accounts($select=fullname)")).json()
    expected = {c["contactid"] for c in org.rows["contact"].values()
                if c["parentcustomerid"] and c["parentcustomerid"].id == account["accountid"]}
    assert {c["contactid"] for c in body["contact_customer_accounts"]} == expected


async def test_retrieve_sends_etag_header_matching_the_body(alice, org):
    account = _alice_account(org)
    response = await alice.get(f"{API}/accounts({account['accountid']})?$select=name")
    assert response.status_code == 200
    assert response.headers["etag"] == response.json()["@odata.etag"] == f'W/"{account["versionnumber"]}"'
    assert response.json()["@odata.context"] == f"{BASE_URL}/api/data/v9.2/$metadata#accounts(name)/$entity"


async def test_retrieve_by_alternate_key(carol, org):
    account = next(iter(org.rows["account"].values()))
    body = (await carol.get(f"{API}/accounts(accountnumber='{account['accountnumber']}')?$select=name")).json()
    assert body["accountid"] == account["accountid"]
    missing = await carol.get(f"{API}/accounts(accountnumber='NOPE')")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80060891"


async def test_retrieve_single_property(carol, org):
    account = next(iter(org.rows["account"].values()))
    body = (await carol.get(f"{API}/accounts({account['accountid']})/name")).json()
    assert body["value"] == account["name"]


@pytest.mark.parametrize("key", ["not-a-guid", "12345", "'abc'"])
async def test_malformed_key_is_a_400(alice, key):
    response = await alice.get(f"{API}/accounts({key})")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"


async def test_missing_record_is_404_with_dataverse_code(alice):
    """Message as PD webapi/perform-conditional-operations-using-web-api.md shows it: "account With Id = <id> Does
    Not Exist"."""
    missing = "00000000-0000-4000-8000-000000000999"
    response = await alice.get(f"{API}/accounts({missing})")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "0x80040217",
                                         "message": f"account With Id = {missing} Does Not Exist"}}


async def test_unknown_entity_set_is_404_resource_not_found(alice):
    response = await alice.get(f"{API}/acounts")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Resource not found for the segment 'acounts'."


@pytest.mark.parametrize("option", ["$select", "$filter", "$orderby"])
async def test_unknown_property_in_query_options(alice, option):
    expression = {"$select": "bogus", "$filter": "bogus eq 1", "$orderby": "bogus"}[option]
    response = await alice.get(f"{API}/accounts?{option}={expression}")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80060888",
        "message": "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.account'."}


@pytest.mark.parametrize("option", ["$skip=5", "$search=x", "$format=json", "$Select=name", "$TOP=2", "$foo=1"])
async def test_unsupported_or_miscased_options_are_rejected(alice, option):
    response = await alice.get(f"{API}/accounts?{option}")
    assert response.status_code == 400
    name = option.split("=")[0]
    assert response.json()["error"]["message"] == f"The query parameter {name} is not supported"


async def test_invalid_top_is_rejected(alice):
    response = await alice.get(f"{API}/accounts?$top=-1")
    assert response.status_code == 400


async def test_expand_of_unknown_navigation_property(alice):
    response = await alice.get(f"{API}/accounts?$expand=parentcustomerid_account")
    assert response.status_code == 400
    assert "parentcustomerid_account" in response.json()["error"]["message"]


async def test_activitypointers_union_the_activity_tables(carol, org):
    body = (await carol.get(f"{API}/activitypointers?$select=subject,activitytypecode&$count=true")).json()
    kinds = ("appointment", "task", "phonecall", "email")
    assert body["@odata.count"] == sum(len(org.rows[name]) for name in kinds)
    assert {row["activitytypecode"] for row in body["value"]} == set(kinds)


async def test_manager_sees_systemusers_and_their_settings(carol):
    body = (await carol.get(f"{API}/systemusers?$select=fullname,internalemailaddress")).json()
    assert {row["fullname"] for row in body["value"]} == {"Alice Anders", "Bob Brown", "Carol Chen"}
    settings = (await carol.get(f"{API}/usersettingscollection({CAROL.systemuser_id})?$select=timezonecode")).json()
    assert settings["timezonecode"] == CAROL.timezone_code


async def test_collection_expand_takes_nested_filter_orderby_and_top(carol, org):
    def contact_count(account: dict) -> int:
        return sum(1 for c in org.rows["contact"].values()
                   if c["parentcustomerid"] and c["parentcustomerid"].id == account["accountid"])

    account = max(org.rows["account"].values(), key=contact_count)
    body = (await carol.get(f"{API}/accounts({account['accountid']})?$select=name&$expand=contact_customer_accounts("
                            "$select=fullname;$filter=statecode eq 0;$orderby=fullname desc;$top=2)")).json()
    names = [c["fullname"] for c in body["contact_customer_accounts"]]
    assert len(names) == 2 and names == sorted(names, key=str.lower, reverse=True)


async def test_single_valued_expand_rejects_collection_options(alice):
    response = await alice.get(f"{API}/accounts?$expand=primarycontactid($select=fullname;$top=1)")
    assert response.status_code == 400
