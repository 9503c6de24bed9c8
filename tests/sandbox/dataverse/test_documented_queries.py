"""Queries answered as Microsoft's documented examples answer them: parameter aliases, `/$count`, the count
annotations, filtered collections and navigation properties, nested `$expand`, and next links on expanded
collections. Each test names the PD (MicrosoftDocs/powerapps-docs, powerapps-docs/developer/data-platform/) page."""

from __future__ import annotations

import pytest
from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE

ALL = {"Prefer": 'odata.include-annotations="*"'}


def _contacts_of(org, account_id: str) -> list[dict]:
    return [c for c in org.rows["contact"].values() if c["parentcustomerid"] == LookupValue("account", account_id)]


def _busiest_account(org) -> dict:
    return max(org.rows["account"].values(), key=lambda a: len(_contacts_of(org, a["accountid"])))


async def test_parameter_aliases_stand_for_properties_and_values_in_filter_and_orderby(carol, org):
    """webapi/web-api-query-data-sample.md, Section 3 "Parameter alias": aliases for properties, a GUID and the
    ordering columns give the same rows as the query without them."""
    account = _busiest_account(org)
    plain = (await carol.get(f"{API}/contacts?$select=fullname,jobtitle&$filter=contains(fullname,'a') and "
                             f"_parentcustomerid_value eq {account['accountid']}&$orderby=jobtitle asc,fullname desc")
             ).json()
    aliased = await carol.get(f"{API}/contacts?$select=fullname,jobtitle&$filter=contains(@p1,'a') and @p2 eq @p3"
                              f"&$orderby=@p4 asc, @p5 desc&@p1=fullname&@p2=_parentcustomerid_value"
                              f"&@p3={account['accountid']}&@p4=jobtitle&@p5=fullname")
    assert aliased.status_code == 200, aliased.text
    assert aliased.json()["value"] == plain["value"] and plain["value"]


async def test_an_alias_in_a_query_function_and_an_unassigned_alias_is_null(carol, org):
    """webapi/query/overview.md ("If the alias isn't assigned a value, it's assumed to be null") and
    web-api-query-data-sample.md (`LastXHours(PropertyName=@p1,PropertyValue=@p2)&@p1='createdon'&@p2='1'`)."""
    body = (await carol.get(f"{API}/accounts?$select=name&$filter=Microsoft.Dynamics.CRM.LastXDays(PropertyName=@p1,"
                            "PropertyValue=@p2)&@p1='createdon'&@p2='365'&$count=true")).json()
    assert body["@odata.count"] == sum(1 for a in org.rows["account"].values()
                                       if (org.now() - a["createdon"]).days < 365)
    nulls = (await carol.get(f"{API}/accounts?$select=name&$filter=description eq @missing&$count=true")).json()
    assert nulls["@odata.count"] == len(org.rows["account"])  # every seeded description is null


async def test_an_alias_inside_a_string_literal_is_text(carol):
    """An `@p1` between quotes is part of the literal (webapi/query/filter-rows.md: URL-encode `@` in values)."""
    body = (await carol.get(f"{API}/accounts?$select=name&$filter=contains(name,'@p1')&@p1='Contoso'")).json()
    assert body["value"] == []


async def test_collection_count_path_is_a_bare_number(carol, org):
    """webapi/query/count-rows.md: `GET accounts/$count` answers `text/plain` with just the number; the UTF-8 byte
    order mark comes first (retrieve-entity-using-web-api.md, "Retrieve navigation property values")."""
    response = await carol.get(f"{API}/accounts/$count")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content.decode("utf-8-sig") == str(len(org.rows["account"]))
    assert response.content.startswith(b"\xef\xbb\xbf")


async def test_count_path_counts_only_rows_the_caller_may_read(alice, org):
    response = await alice.get(f"{API}/accounts/$count")
    readable = (await alice.get(f"{API}/accounts?$select=name&$count=true")).json()["@odata.count"]
    assert int(response.content.decode("utf-8-sig")) == readable < len(org.rows["account"])


async def test_navigation_count_path(carol, org):
    """retrieve-entity-using-web-api.md: `GET accounts(<id>)/Account_Tasks/$count` is the related rows' number."""
    account = _busiest_account(org)
    response = await carol.get(f"{API}/accounts({account['accountid']})/contact_customer_accounts/$count")
    assert response.content.decode("utf-8-sig") == str(len(_contacts_of(org, account["accountid"])))


async def test_total_record_count_annotations_follow_count_true(carol, org):
    """webapi/query/count-rows.md: with the annotations asked for, totalrecordcount is the count with `$count=true`
    and -1 without; totalrecordcountlimitexceeded is false under 5,000. web-api-query-data-sample.md shows them (and
    globalmetadataversion) before `value` when `Prefer: odata.include-annotations="*"`."""
    counted = (await carol.get(f"{API}/leads?$select=subject&$count=true", headers=ALL)).json()
    assert list(counted)[:6] == ["@odata.context", "@odata.count", "@Microsoft.Dynamics.CRM.totalrecordcount",
                                 "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded",
                                 "@Microsoft.Dynamics.CRM.globalmetadataversion", "value"]
    assert counted["@Microsoft.Dynamics.CRM.totalrecordcount"] == counted["@odata.count"] == len(org.rows["lead"])
    assert counted["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    uncounted = (await carol.get(f"{API}/leads?$select=subject", headers={
        "Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
                  'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'})).json()
    assert uncounted["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1
    assert "@Microsoft.Dynamics.CRM.globalmetadataversion" not in uncounted
    plain = (await carol.get(f"{API}/leads?$select=subject&$count=true")).json()
    assert "@Microsoft.Dynamics.CRM.totalrecordcount" not in plain


async def test_semicolon_separated_preferences_are_all_applied(carol):
    """web-api-query-data-sample.md, Section 5 sends `Prefer: odata.maxpagesize=4; odata.include-annotations="*"`."""
    body = (await carol.get(f"{API}/contacts?$select=fullname,preferredcontactmethodcode", headers={
        "Prefer": 'odata.maxpagesize=4; odata.include-annotations="*"'})).json()
    assert len(body["value"]) == 4 and "@odata.nextLink" in body
    assert "preferredcontactmethodcode@OData.Community.Display.V1.FormattedValue" in body["value"][0]


async def test_filtered_collection_of_a_records_collection_navigation(carol, org):
    """web-api-basic-operations-sample.md, Section 4: `GET accounts(<id>)/contact_customer_accounts?$select=
    fullname,jobtitle` answers `#contacts(fullname,jobtitle)` with the account's contacts."""
    account = _busiest_account(org)
    response = await carol.get(f"{API}/accounts({account['accountid']})/contact_customer_accounts"
                               "?$select=fullname,jobtitle&$orderby=fullname")
    body = response.json()
    assert body["@odata.context"] == f"{BASE_URL}/api/data/v9.2/$metadata#contacts(fullname,jobtitle)"
    expected = {c["contactid"] for c in _contacts_of(org, account["accountid"])}
    assert {row["contactid"] for row in body["value"]} == expected
    assert set(body["value"][0]) == {"@odata.etag", "fullname", "jobtitle", "contactid"}


async def test_filtered_collection_pages_with_next_links_under_its_own_path(carol, org):
    account = _busiest_account(org)
    path = f"{API}/accounts({account['accountid']})/contact_customer_accounts?$select=fullname"
    first = (await carol.get(path, headers={"Prefer": "odata.maxpagesize=2"})).json()
    link = first["@odata.nextLink"]
    assert link.startswith(f"{BASE_URL}/api/data/v9.2/accounts({account['accountid']})/contact_customer_accounts?")
    second = (await carol.get(link.removeprefix("http://dataverse.test"), headers={"Prefer": "odata.maxpagesize=2"}))
    assert second.status_code == 200, second.text
    seen = {r["contactid"] for r in first["value"]} | {r["contactid"] for r in second.json()["value"]}
    assert len(seen) == min(4, len(_contacts_of(org, account["accountid"])))


async def test_aggregate_over_a_filtered_collection(carol, org):
    """web-api-query-data-sample.md, Section 7: `accounts(<id>)/contact_customer_accounts?$apply=aggregate(
    annualincome with sum as total)`."""
    account = _busiest_account(org)
    body = (await carol.get(f"{API}/accounts({account['accountid']})/contact_customer_accounts"
                            "?$apply=aggregate(annualincome with sum as total)")).json()
    assert body["value"][0]["total"] == sum(c["annualincome"] for c in _contacts_of(org, account["accountid"]))


async def test_single_valued_navigation_returns_the_related_record(alice, org):
    """retrieve-entity-using-web-api.md: `GET accounts(<id>)/primarycontactid?$select=fullname` answers the contact
    with context `#contacts(fullname)/$entity` and its etag."""
    account = next(a for a in org.rows["account"].values()
                   if a["ownerid"].id == ALICE.systemuser_id and a["primarycontactid"])
    response = await alice.get(f"{API}/accounts({account['accountid']})/primarycontactid?$select=fullname")
    body = response.json()
    contact = org.rows["contact"][account["primarycontactid"].id]
    assert body == {"@odata.context": f"{BASE_URL}/api/data/v9.2/$metadata#contacts(fullname)/$entity",
                    "@odata.etag": f'W/"{contact["versionnumber"]}"', "fullname": contact["fullname"],
                    "contactid": contact["contactid"]}
    assert response.headers["etag"] == body["@odata.etag"]


async def test_empty_single_valued_navigation_is_no_content(carol, org):
    account = next(a for a in org.rows["account"].values() if a["parentaccountid"] is None)
    response = await carol.get(f"{API}/accounts({account['accountid']})/parentaccountid")
    assert response.status_code == 204


async def test_nested_single_valued_expand(alice, org):
    """webapi/query/join-tables.md, "Nested expand of single-valued navigation properties": context nests, and in a
    collection query the expanded records carry no etag."""
    body = (await alice.get(f"{API}/accounts?$select=name&$expand=primarycontactid($select=fullname;"
                            "$expand=createdby($select=fullname))&$filter=primarycontactid/fullname ne null&$top=3"
                            )).json()
    assert body["@odata.context"].endswith("#accounts(name,primarycontactid(fullname,createdby(fullname)))")
    for row in body["value"]:
        contact = org.rows["contact"][org.rows["account"][row["accountid"]]["primarycontactid"].id]
        creator = org.rows["systemuser"][contact["createdby"].id]
        assert row["primarycontactid"]["createdby"] == {"fullname": creator["fullname"],
                                                        "systemuserid": creator["systemuserid"]}
        assert "@odata.etag" not in row["primarycontactid"]


async def test_single_retrieve_keeps_etags_on_expanded_records(carol, org):
    """web-api-query-data-sample.md, Section 6: retrieving one account, the expanded primary contact and each
    expanded contact carry @odata.etag, and no next link is given."""
    account = _busiest_account(org)
    body = (await carol.get(f"{API}/accounts({account['accountid']})?$select=name&$expand=primarycontactid("
                            "$select=fullname),contact_customer_accounts($select=fullname)")).json()
    assert "@odata.etag" in body["primarycontactid"]
    assert all("@odata.etag" in row and "_parentcustomerid_value" not in row
               for row in body["contact_customer_accounts"])
    assert "contact_customer_accounts@odata.nextLink" not in body


async def test_expanded_collection_in_a_query_has_an_unpaged_next_link(carol, org):
    """webapi/query/join-tables.md, "Single $expand on collection-valued navigation properties": every row of the
    expanded collection, with its etag and the lookup to the parent, and `<nav>@odata.nextLink` without paging."""
    account = _busiest_account(org)
    body = (await carol.get(f"{API}/accounts?$select=name&$filter=accountid eq {account['accountid']}"
                            "&$expand=contact_customer_accounts($select=fullname)",
                            headers={"Prefer": "odata.maxpagesize=1"})).json()
    row = body["value"][0]
    assert len(row["contact_customer_accounts"]) == len(_contacts_of(org, account["accountid"]))
    assert row["contact_customer_accounts@odata.nextLink"] == (
        f"{BASE_URL}/api/data/v9.2/accounts({account['accountid']})/contact_customer_accounts?$select=fullname")
    child = row["contact_customer_accounts"][0]
    assert list(child) == ["@odata.etag", "fullname", "_parentcustomerid_value", "contactid"]
    assert child["_parentcustomerid_value"] == account["accountid"]


async def test_nested_expand_pages_expanded_collections(carol, org):
    """webapi/query/join-tables.md, "Nested $expand on collection-valued navigation properties": with a nested
    `$expand` and `odata.maxpagesize`, each expanded collection is paged, its rows carry no etag, and its next link
    carries `$skiptoken` and returns the following rows. (The doc nests owninguser, which the sandbox lacks.)"""
    account = _busiest_account(org)
    prefer = {"Prefer": "odata.maxpagesize=1"}
    body = (await carol.get(f"{API}/accounts?$select=name&$filter=accountid eq {account['accountid']}"
                            "&$expand=contact_customer_accounts($select=fullname;$expand=createdby($select=fullname))",
                            headers=prefer)).json()
    assert body["@odata.context"].endswith("#accounts(name,contact_customer_accounts(fullname,createdby(fullname)))")
    row = body["value"][0]
    assert len(row["contact_customer_accounts"]) == 1
    assert "@odata.etag" not in row["contact_customer_accounts"][0]
    link = row["contact_customer_accounts@odata.nextLink"]
    assert "$expand=createdby(" in link and "$skiptoken=" in link
    following = (await carol.get(link.removeprefix("http://dataverse.test"), headers=prefer)).json()
    assert following["value"][0]["contactid"] != row["contact_customer_accounts"][0]["contactid"]


async def test_top_or_orderby_with_a_nested_expand_is_refused(carol):
    """webapi/query/join-tables.md: "Only $select and $filter clause can be provided while doing $expand on
    many-to-one relationship or nested one-to-many relationship." (0x80060888)."""
    for query in ("$expand=contact_customer_accounts($top=1;$expand=createdby($select=fullname))",
                  "$expand=primarycontactid($top=1)"):
        response = await carol.get(f"{API}/accounts?$select=name&{query}")
        assert response.status_code == 400
        assert response.json()["error"] == {"code": "0x80060888", "message": (
            "Only $select and $filter clause can be provided while doing $expand on many-to-one relationship or "
            "nested one-to-many relationship.")}


async def test_more_than_fifteen_expands_counting_nested_ones_are_refused(carol):
    """webapi/query/join-tables.md: "You can include up to 15 $expand options in a query"; nested ones count."""
    fifteen = ",".join(["createdby($select=fullname;$expand=businessunitid($select=name))"] * 7 + ["modifiedby"])
    assert (await carol.get(f"{API}/accounts?$select=name&$top=1&$expand={fifteen}")).status_code == 200
    response = await carol.get(f"{API}/accounts?$select=name&$top=1&$expand={fifteen},ownerid")
    assert response.status_code == 400


@pytest.mark.parametrize("select", ["name,", "name,,revenue"])
async def test_an_empty_select_item_is_ignored(carol, select):
    """web-api-basic-operations-sample.md, Section 2 sends `?$select=name,&$expand=...`."""
    response = await carol.get(f"{API}/accounts?$select={select}&$top=1")
    assert response.status_code == 200, response.text
    assert "name" in response.json()["value"][0]
