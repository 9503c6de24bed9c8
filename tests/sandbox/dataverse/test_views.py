"""Saved views over HTTP: system views (savedqueries) with their documented ids, personal views (userqueries) private
to their owner, and running either with `?savedQuery=` / `?userQuery=` as the caller, with row security, FetchXML's
null-less rows, paging with a page size and next links, and on a related collection."""

from __future__ import annotations

from sandbox_dataverse_support import API

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.security import SecuredDataset, caller_for
from dataverse.sandbox.dataverse.seed_views import sandbox_view_id
from dataverse.sandbox.users import ALICE, BOB, CAROL

ACTIVE_ACCOUNTS = "00000000-0000-0000-00aa-000010001002"
OPEN_OPPORTUNITIES = "00000000-0000-0000-00aa-000010003001"
MY_OPEN_OPPORTUNITIES = "00000000-0000-0000-00aa-000010003000"
HOT_LEADS = sandbox_view_id("alice/Hot leads")
PAGING = {"Prefer": 'odata.maxpagesize=7,odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,'
                    'Microsoft.Dynamics.CRM.morerecords"'}


def _readable(org, user, table: str) -> list[dict]:
    return SecuredDataset(org, caller_for(org, user.systemuser_id)).rows(table)


async def test_user_facing_account_views_are_listed_by_the_documented_filter(alice):
    body = (await alice.get(f"{API}/savedqueries?$select=name,savedqueryid,isdefault,querytype&$filter="
                            "returnedtypecode eq 'account' and querytype eq 0 and statecode eq 0")).json()
    views = {row["name"]: row for row in body["value"]}
    assert views["Active Accounts"]["savedqueryid"] == ACTIVE_ACCOUNTS
    assert views["My Active Accounts"]["isdefault"] is True
    assert "Quick Find Active Accounts" not in views and "Accounts Being Followed" not in views
    one = (await alice.get(f"{API}/savedqueries?$select=savedqueryid&$filter=name eq 'Open Opportunities'")).json()
    assert one["value"][0]["savedqueryid"] == OPEN_OPPORTUNITIES


async def test_a_view_carries_its_query_and_layout(alice):
    view = (await alice.get(f"{API}/savedqueries({OPEN_OPPORTUNITIES})?$select=fetchxml,layoutxml,returnedtypecode,"
                            "querytype,statecode,isdefault,name,description")).json()
    assert view["returnedtypecode"] == "opportunity" and view["querytype"] == 0 and view["statecode"] == 0
    assert "<entity name='opportunity'>" in view["fetchxml"] and "<grid name='resultset' object='3'" in view[
        "layoutxml"]


async def test_running_a_system_view_returns_what_the_caller_may_see_without_nulls(alice, org):
    body = (await alice.get(f"{API}/accounts?savedQuery={ACTIVE_ACCOUNTS}")).json()
    expected = {row["accountid"] for row in _readable(org, ALICE, "account") if row["statecode"] == 0}
    assert {row["accountid"] for row in body["value"]} == expected
    names = [row["name"] for row in body["value"]]
    assert names == sorted(names, key=str.lower)
    without_phone = [row for row in body["value"] if org.rows["account"][row["accountid"]]["telephone1"] is None]
    assert all("telephone1" not in row for row in without_phone)
    assert all(set(row) <= {"@odata.etag", "accountid", "name", "telephone1", "address1_city",
                            "_primarycontactid_value"} for row in body["value"])


async def test_my_open_opportunities_is_each_callers_own(client_as, org):
    for user in (ALICE, BOB):
        rows = (await client_as(user).get(f"{API}/opportunities?savedQuery={MY_OPEN_OPPORTUNITIES}")).json()["value"]
        expected = {row["opportunityid"] for row in org.rows["opportunity"].values()
                    if row["ownerid"].id == user.systemuser_id and row["statecode"] == 0}
        assert {row["opportunityid"] for row in rows} == expected


async def test_a_view_runs_only_on_the_entity_set_it_returns(alice):
    response = await alice.get(f"{API}/contacts?savedQuery={ACTIVE_ACCOUNTS}")
    assert response.status_code == 400 and "account" in response.json()["error"]["message"]
    missing = await alice.get(f"{API}/accounts?savedQuery=00000000-0000-0000-0000-000000000001")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"


async def test_a_personal_view_is_private_to_its_owner(client_as, org):
    alice, bob, carol = client_as(ALICE), client_as(BOB), client_as(CAROL)
    rows = (await alice.get(f"{API}/leads?userQuery={HOT_LEADS}")).json()["value"]
    expected = {row["leadid"] for row in _readable(org, ALICE, "lead")
                if row["statecode"] == 0 and row["leadqualitycode"] == 1}
    assert expected and {row["leadid"] for row in rows} == expected
    for other in (bob, carol):
        assert (await other.get(f"{API}/leads?userQuery={HOT_LEADS}")).status_code == 404
        assert (await other.get(f"{API}/userqueries({HOT_LEADS})")).status_code == 404
    bobs = {row["name"] for row in (await bob.get(f"{API}/userqueries?$select=name")).json()["value"]}
    assert bobs == {"London accounts"}
    alices = (await alice.get(f"{API}/userqueries?$select=name,_ownerid_value&$filter=returnedtypecode eq 'lead' "
                              "and querytype eq 0 and statecode eq 0")).json()["value"]
    assert [(row["name"], row["_ownerid_value"]) for row in alices] == [("Hot leads", ALICE.systemuser_id)]


async def test_views_page_with_a_page_size_a_cookie_and_next_links(carol, org):
    url = f"{API}/accounts?savedQuery={ACTIVE_ACCOUNTS}"
    seen: list[str] = []
    pages = 0
    while url:
        response = await carol.get(url, headers=PAGING)
        body = response.json()
        pages += 1
        seen.extend(row["accountid"] for row in body["value"])
        more = body["@Microsoft.Dynamics.CRM.morerecords"]
        assert len(body["value"]) == 7 or not more
        if more:
            assert body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"].startswith('<cookie pagenumber="')
            assert "savedQuery=" in body["@odata.nextLink"] and "$skiptoken=" in body["@odata.nextLink"]
        url = body.get("@odata.nextLink", "").replace("http://dataverse.test", "")
    active = [row for row in org.rows["account"].values() if row["statecode"] == 0]
    assert len(seen) == len(set(seen)) == len(active) and pages == -(-len(active) // 7)


async def test_a_view_applies_to_a_related_collection(carol, org):
    account = next(row for row in org.rows["account"].values()
                   if sum(1 for o in org.rows["opportunity"].values()
                          if o["parentaccountid"] == LookupValue("account", row["accountid"])
                          and o["statecode"] == 0) >= 2)
    body = (await carol.get(f"{API}/accounts({account['accountid']})/opportunity_parent_account/"
                            f"?savedQuery={OPEN_OPPORTUNITIES}")).json()
    expected = {o["opportunityid"] for o in org.rows["opportunity"].values()
                if o["parentaccountid"] == LookupValue("account", account["accountid"]) and o["statecode"] == 0}
    assert {row["opportunityid"] for row in body["value"]} == expected


async def test_query_options_do_not_mix_with_a_view(alice):
    response = await alice.get(f"{API}/accounts?savedQuery={ACTIVE_ACCOUNTS}&$select=name")
    both = await alice.get(f"{API}/leads?savedQuery={ACTIVE_ACCOUNTS}&userQuery={HOT_LEADS}")
    assert response.status_code == 400 and both.status_code == 400
