"""FetchXML over HTTP: the four reports from the reference, null columns omitted, `<alias>.<column>` names,
aggregates by alias, row security, and paging with the fetchxmlpagingcookie/morerecords annotations."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from urllib.parse import unquote

from sandbox_dataverse_support import FORMATTED, fetch_url

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE

MY_OPEN = ('<fetch><entity name="opportunity"><attribute name="name"/><attribute name="estimatedvalue"/>'
           '<attribute name="estimatedclosedate"/><attribute name="customerid"/><filter>'
           '<condition attribute="ownerid" operator="eq-userid"/><condition attribute="statecode" operator="eq" '
           'value="0"/></filter><order attribute="estimatedclosedate"/></entity></fetch>')
PIPELINE = ('<fetch aggregate="true"><entity name="opportunity"><attribute name="stepname" alias="stage" '
            'groupby="true"/><attribute name="estimatedvalue" alias="total" aggregate="sum"/>'
            '<attribute name="opportunityid" alias="n" aggregate="count"/><filter><condition attribute="statecode" '
            'operator="eq" value="0"/></filter><order alias="stage"/></entity></fetch>')
QUIET = ('<fetch><entity name="account"><attribute name="name"/><link-entity name="activitypointer" '
         'from="regardingobjectid" to="accountid" link-type="not any"><filter><condition attribute="createdon" '
         'operator="last-x-days" value="30"/></filter></link-entity></entity></fetch>')
PAGING_PREFER = {"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,'
                           'Microsoft.Dynamics.CRM.morerecords"'}


async def test_my_open_opportunities(alice, org):
    body = (await alice.get(fetch_url("opportunities", MY_OPEN), headers={
        "Prefer": 'odata.include-annotations="*"'})).json()
    expected = {r["opportunityid"] for r in org.rows["opportunity"].values()
                if r["ownerid"].id == ALICE.systemuser_id and r["statecode"] == 0}
    assert {row["opportunityid"] for row in body["value"]} == expected
    dates = [row["estimatedclosedate"] for row in body["value"]]
    assert dates == sorted(dates)
    first = body["value"][0]
    assert first["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert first["_customerid_value" + FORMATTED]
    assert re.fullmatch(r'W/"\d+"', first["@odata.etag"])


async def test_pipeline_by_stage_aggregates_by_alias(carol, org):
    body = (await carol.get(fetch_url("opportunities", PIPELINE))).json()
    open_rows = [r for r in org.rows["opportunity"].values() if r["statecode"] == 0]
    by_stage = {row["stage"]: row for row in body["value"]}
    for stage, row in by_stage.items():
        in_stage = [r for r in open_rows if r["stepname"] == stage]
        assert row["n"] == len(in_stage)
        assert abs(row["total"] - sum(r["estimatedvalue"] for r in in_stage)) < 0.01
        assert "@odata.etag" not in row
    assert sum(row["n"] for row in body["value"]) == len(open_rows)


async def test_accounts_with_no_activity_in_30_days(carol, org):
    body = (await carol.get(fetch_url("accounts", QUIET))).json()
    cutoff = org.now() - timedelta(days=30)
    recent = {a["regardingobjectid"].id for a in org.all_rows("activitypointer") if a["createdon"] >= cutoff}
    assert {row["accountid"] for row in body["value"]} == set(org.rows["account"]) - recent


async def test_null_columns_are_omitted_and_link_columns_are_aliased(carol, org):
    xml = ('<fetch top="20"><entity name="contact"><attribute name="fullname"/><attribute name="mobilephone"/>'
           '<link-entity name="account" from="accountid" to="parentcustomerid" alias="acct">'
           '<attribute name="name"/></link-entity></entity></fetch>')
    body = (await carol.get(fetch_url("contacts", xml))).json()
    assert len(body["value"]) == 20
    for row in body["value"]:
        assert "mobilephone" not in row  # seeded as null
        contact = org.rows["contact"][row["contactid"]]
        assert row["acct.name"] == org.rows["account"][contact["parentcustomerid"].id]["name"]


async def test_fetch_respects_row_security(alice, org):
    xml = '<fetch><entity name="opportunity"><attribute name="name"/></entity></fetch>'
    body = (await alice.get(fetch_url("opportunities", xml))).json()
    assert {row["opportunityid"] for row in body["value"]} == {
        r["opportunityid"] for r in org.rows["opportunity"].values() if r["ownerid"] == LookupValue(
            "systemuser", ALICE.systemuser_id)}


async def test_fetch_paging_with_cookie_annotations_walks_every_row(carol, org):
    seen: list[str] = []
    cookie, page = None, 1
    while True:
        cookie_attribute = f' paging-cookie="{escape(cookie)}"' if cookie else ""
        xml = (f'<fetch count="50" page="{page}"{cookie_attribute}><entity name="contact">'
               '<attribute name="fullname"/><order attribute="contactid"/></entity></fetch>')
        body = (await carol.get(fetch_url("contacts", xml), headers=PAGING_PREFER)).json()
        seen.extend(row["contactid"] for row in body["value"])
        assert "@Microsoft.Dynamics.CRM.morerecords" in body
        if not body["@Microsoft.Dynamics.CRM.morerecords"]:
            assert "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie" not in body
            break
        outer = body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]
        match = re.fullmatch(r'<cookie pagenumber="(\d+)" pagingcookie="([^"]+)" istracking="False" />', outer)
        assert match and int(match.group(1)) == page + 1
        cookie = unquote(unquote(match.group(2)))
        assert cookie.startswith(f'<cookie page="{page}">')
        page += 1
    assert len(seen) == len(set(seen)) == len(org.rows["contact"])


async def test_paging_annotations_absent_unless_requested(carol):
    xml = '<fetch count="5"><entity name="contact"><attribute name="fullname"/></entity></fetch>'
    body = (await carol.get(fetch_url("contacts", xml))).json()
    assert len(body["value"]) == 5
    assert not any(key.startswith("@Microsoft") for key in body)


async def test_entity_must_match_the_entity_set(carol):
    xml = '<fetch><entity name="account"><attribute name="name"/></entity></fetch>'
    response = await carol.get(fetch_url("contacts", xml))
    assert response.status_code == 400


async def test_malformed_fetchxml_is_a_dataverse_error(carol):
    response = await carol.get(fetch_url("accounts", "<fetch><entity name='account'>"))
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}
