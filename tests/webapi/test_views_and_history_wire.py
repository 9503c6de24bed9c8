"""Views and change history on the wire, checked against the requests and answers Microsoft documents
(PD `webapi/retrieve-and-execute-predefined-queries.md`, `auditing/retrieve-audit-data.md`): what run_view and
get_record_change_history send, and how the documented answers become FetchPage and ChangeHistoryPage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from dataverse.webapi import PermissionDeniedError

ACTIVE_ACCOUNTS = "00000000-0000-0000-00aa-000010001002"
ACCOUNT = "611e7713-68d7-4622-b552-85060af450bc"
USER = "4026be43-6b69-e111-8f65-78e7d1620f5e"
TEAM = "39e0dbe4-131b-e111-ba7e-78e7d1620f5e"
INNER_COOKIE = '<cookie page="1"><accountid last="{8B390C24-9C72-E511-80D4-00155D2A68D1}" ' \
               'first="{89390C24-9C72-E511-80D4-00155D2A68D1}" /></cookie>'
OUTER_COOKIE = ('<cookie pagenumber="2" pagingcookie="' + quote(quote(INNER_COOKIE, safe=""), safe="")
                + '" istracking="False" />')
# The documented FetchXML answer: null columns are left out (only the first row has an accountnumber).
VIEW_PAGE = {
    "@odata.context": "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#accounts(accountid,name)",
    "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie": OUTER_COOKIE,
    "@Microsoft.Dynamics.CRM.morerecords": True,
    "value": [
        {"@odata.etag": 'W/"506678"', "accountid": "89390c24-9c72-e511-80d4-00155d2a68d1",
         "name": "Fourth Coffee (sample)", "accountnumber": "1234"},
        {"@odata.etag": 'W/"502172"', "accountid": "8b390c24-9c72-e511-80d4-00155d2a68d1",
         "name": "Litware, Inc. (sample)"},
    ],
}
# The documented RetrieveRecordChangeHistory answer (the first two of four changes).
HISTORY_COOKIE = ('<cookie page="1"><cookieExtensions ContinuationToken="{&quot;pageNumber&quot;:2,'
                  '&quot;continuationToken&quot;:&quot;[]&quot;}" /></cookie>')
HISTORY = {
    "@odata.context": "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata"
                      "#Microsoft.Dynamics.CRM.RetrieveRecordChangeHistoryResponse",
    "AuditDetailCollection": {
        "MoreRecords": True, "PagingCookie": HISTORY_COOKIE, "TotalRecordCount": 4,
        "AuditDetails": [
            {"@odata.type": "#Microsoft.Dynamics.CRM.AttributeAuditDetail", "InvalidNewValueAttributes": [],
             "LocLabelLanguageCode": 0, "DeletedAttributes": {"Count": 0, "Keys": [], "Values": []},
             "OldValue": {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "Old description value"},
             "NewValue": {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "New description value"}},
            {"@odata.type": "#Microsoft.Dynamics.CRM.AttributeAuditDetail", "InvalidNewValueAttributes": [],
             "LocLabelLanguageCode": 0, "DeletedAttributes": {"Count": 0, "Keys": [], "Values": []},
             "OldValue": {"@odata.type": "#Microsoft.Dynamics.CRM.account",
                          "_ownerid_value@OData.Community.Display.V1.FormattedValue": "FirstName LastName",
                          "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "ownerid",
                          "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
                          "_ownerid_value": USER},
             "NewValue": {"@odata.type": "#Microsoft.Dynamics.CRM.account",
                          "_ownerid_value@OData.Community.Display.V1.FormattedValue": "TeamName",
                          "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "ownerid",
                          "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "team",
                          "_ownerid_value": TEAM}},
        ],
    },
}


def _audit_row(audit_id: str, action: int, label: str, operation: int, when: str) -> dict:
    """An audits row in the documented shape (lookups with lookuplogicalname, no associatednavigationproperty)."""
    return {"auditid": audit_id, "action@OData.Community.Display.V1.FormattedValue": label, "action": action,
            "operation": operation, "createdon@OData.Community.Display.V1.FormattedValue": "5/13/2022 3:06 PM",
            "createdon": when, "_userid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
            "_userid_value@OData.Community.Display.V1.FormattedValue": "FirstName LastName", "_userid_value": USER}


AUDITS = {
    "@odata.context": "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#audits(auditid,action,operation,"
                      "createdon,_userid_value)",
    "@Microsoft.Dynamics.CRM.totalrecordcount": -1, "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded": False,
    "@odata.count": 4,
    "value": [_audit_row("a1000000-0000-0000-0000-000000000004", 2, "Update", 2, "2022-05-13T22:06:46Z"),
              _audit_row("a1000000-0000-0000-0000-000000000003", 13, "Assign", 2, "2022-05-13T22:06:27Z")],
}


async def test_run_view_sends_the_documented_request_and_reads_a_fetchxml_page(harness):
    h = harness(httpx.Response(200, json=VIEW_PAGE))
    page = await h.client.run_view("accounts", saved_query=ACTIVE_ACCOUNTS.upper(), page_size=2)
    assert h.path() == "/api/data/v9.2/accounts" and h.params() == [("savedQuery", ACTIVE_ACCOUNTS)]
    assert h.last.headers["Prefer"] == 'odata.include-annotations="*",odata.maxpagesize=2'
    assert [row.get("accountnumber") for row in page.rows] == ["1234", None]
    assert page.more_records is True and page.next_page == 2 and page.paging_cookie == INNER_COOKIE


async def test_a_later_page_is_asked_for_with_the_next_links_skiptoken(harness):
    h = harness(httpx.Response(200, json={"value": []}))
    await h.client.run_view("leads", user_query="121c6fd8-1975-e511-80d4-00155d2a68d1", page_size=2, page=2,
                            paging_cookie=INNER_COOKIE, annotations=False)
    assert h.params() == [("userQuery", "121c6fd8-1975-e511-80d4-00155d2a68d1"), ("$skiptoken", OUTER_COOKIE)]
    assert "Microsoft.Dynamics.CRM.fetchxmlpagingcookie" in h.last.headers["Prefer"]


async def test_without_the_annotation_the_next_link_gives_the_cookie(harness):
    link = (f"https://contoso.crm.dynamics.com/api/data/v9.2/accounts?savedQuery={ACTIVE_ACCOUNTS}"
            f"&$skiptoken={quote(OUTER_COOKIE, safe='=/')}")
    h = harness(httpx.Response(200, json={"value": VIEW_PAGE["value"], "@odata.nextLink": link}))
    page = await h.client.run_view("accounts", saved_query=ACTIVE_ACCOUNTS)
    assert page.more_records is True and (page.next_page, page.paging_cookie) == (2, INNER_COOKIE)
    last = harness(httpx.Response(200, json={"value": []}))
    assert (await last.client.run_view("accounts", saved_query=ACTIVE_ACCOUNTS)).more_records is False


@pytest.mark.parametrize("arguments", [{}, {"saved_query": ACTIVE_ACCOUNTS, "user_query": ACTIVE_ACCOUNTS},
                                       {"saved_query": "Active Accounts"}, {"saved_query": ACTIVE_ACCOUNTS, "page": 0},
                                       {"saved_query": ACTIVE_ACCOUNTS, "paging_cookie": INNER_COOKIE}])
async def test_run_view_refuses_what_cannot_be_sent(harness, arguments):
    h = harness(httpx.Response(200, json={"value": []}))
    with pytest.raises(ValueError):
        await h.client.run_view("accounts", **arguments)
    assert h.requests == []


async def test_views_are_listed_with_the_query_verb(harness):
    h = harness(httpx.Response(200, json={"value": [{"name": "Active Accounts", "savedqueryid": ACTIVE_ACCOUNTS}]}))
    page = await h.client.query("savedqueries", select=["name", "savedqueryid"],
                                filter="returnedtypecode eq 'account' and querytype eq 0 and statecode eq 0")
    assert h.params() == [("$select", "name,savedqueryid"),
                          ("$filter", "returnedtypecode eq 'account' and querytype eq 0 and statecode eq 0")]
    assert page.rows[0]["savedqueryid"] == ACTIVE_ACCOUNTS


async def test_change_history_sends_the_documented_aliases_and_joins_who_and_when(harness):
    h = harness(httpx.Response(200, json=HISTORY), httpx.Response(200, json=AUDITS))
    page = await h.client.get_record_change_history("accounts", ACCOUNT.upper(), page_size=2)
    history, audits = h.requests
    assert h.path(history) == "/api/data/v9.2/RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)"
    params = dict(h.params(history))
    assert params["@target"] == f"{{'@odata.id':'accounts({ACCOUNT})'}}"
    assert json.loads(params["@paginginfo"]) == {"PageNumber": 1, "Count": 2, "ReturnTotalRecordCount": True}
    assert dict(h.params(audits)) == {
        "$select": "auditid,action,operation,createdon,_userid_value", "$filter": f"_objectid_value eq {ACCOUNT}",
        "$orderby": "createdon desc", "$top": "2", "$count": "true"}
    assert (page.more_records, page.total_count, page.paging_cookie, page.attributed) == (True, 4, HISTORY_COOKIE,
                                                                                          True)
    description, owner = page.changes
    assert description.table == "account" and description.detail_type == "AttributeAuditDetail"
    assert [(c.column, c.old_value, c.new_value) for c in description.changes] == [
        ("description", "Old description value", "New description value")]
    assert (description.action, description.action_name, description.changed_by_id) == (2, "Update", USER)
    assert description.changed_on == datetime(2022, 5, 13, 22, 6, 46, tzinfo=UTC)
    (change,) = owner.changes
    assert (change.column, change.old_value, change.new_value) == ("ownerid", USER, TEAM)
    assert change.old_annotations["OData.Community.Display.V1.FormattedValue"] == "FirstName LastName"
    assert change.new_annotations["Microsoft.Dynamics.CRM.lookuplogicalname"] == "team"
    assert (owner.action_name, owner.changed_by_name) == ("Assign", "FirstName LastName")


async def test_the_next_page_carries_the_paging_cookie_and_joins_further_down_the_log(harness):
    later = {**AUDITS, "value": [_audit_row(f"a1000000-0000-0000-0000-00000000000{n}", 2, "Update", 2,
                                            "2022-05-13T22:00:00Z") for n in range(4, 0, -1)]}
    h = harness(httpx.Response(200, json=HISTORY), httpx.Response(200, json=later))
    page = await h.client.get_record_change_history("accounts", ACCOUNT, page=2, page_size=2,
                                                    paging_cookie=HISTORY_COOKIE)
    history, audits = h.requests
    assert json.loads(dict(h.params(history))["@paginginfo"]) == {
        "PageNumber": 2, "Count": 2, "ReturnTotalRecordCount": True, "PagingCookie": HISTORY_COOKIE}
    assert dict(h.params(audits))["$top"] == "4"
    assert [change.audit_id for change in page.changes] == ["a1000000-0000-0000-0000-000000000002",
                                                            "a1000000-0000-0000-0000-000000000001"]


async def test_without_the_audit_summary_privilege_the_changes_come_without_who_and_when(harness):
    denied = httpx.Response(403, json={"error": {"code": "0x80040220", "message": "Principal user is missing "
                                                                                  "prvReadAuditSummary privilege"}})
    h = harness(httpx.Response(200, json=HISTORY), denied)
    page = await h.client.get_record_change_history("accounts", ACCOUNT, page_size=2)
    assert page.attributed is False and len(page.changes) == 2
    assert all(change.changed_by_id is None and change.changed_on is None for change in page.changes)


async def test_a_log_that_does_not_line_up_is_not_joined(harness):
    h = harness(httpx.Response(200, json=HISTORY), httpx.Response(200, json={**AUDITS, "@odata.count": 5}))
    assert (await h.client.get_record_change_history("accounts", ACCOUNT, page_size=2)).attributed is False
    created_first = {**AUDITS, "value": [_audit_row("a1", 1, "Create", 1, "2022-05-13T22:06:46Z"),
                                         AUDITS["value"][1]]}
    h = harness(httpx.Response(200, json=HISTORY), httpx.Response(200, json=created_first))
    assert (await h.client.get_record_change_history("accounts", ACCOUNT, page_size=2)).attributed is False


async def test_history_without_the_view_audit_history_privilege_raises(harness):
    h = harness(httpx.Response(403, json={"error": {"code": "0x80040220", "message": "Principal user (Id=x, type=8) "
                                                    "is missing prvReadRecordAuditHistory privilege"}}))
    with pytest.raises(PermissionDeniedError):
        await h.client.get_record_change_history("accounts", ACCOUNT)
    assert len(h.requests) == 1
