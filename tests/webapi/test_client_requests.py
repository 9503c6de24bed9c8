"""What goes on the wire: headers, paths and query options for every client operation, and how answers are read."""

from __future__ import annotations

import json

import httpx
import pytest

from dataverse.webapi import DataverseClient, DataverseError, UrlTooLongError, create_http_client

ENV = "https://contoso.crm.dynamics.com"
RECORD = "7D716234-0B3F-EE11-BDF4-000D3A1B2C3D"
RECORD_LOWER = RECORD.lower()
ROWS = httpx.Response(200, json={"value": [{"name": "Contoso", "@odata.etag": 'W/"81052965"'}]})


async def test_query_sends_the_odata_headers_and_the_bearer_token(harness):
    h = harness(ROWS)
    await h.client.query("accounts", page_size=50)
    headers = h.last.headers
    assert headers["Authorization"] == "Bearer token-1"
    assert headers["OData-MaxVersion"] == "4.0"
    assert headers["OData-Version"] == "4.0"
    assert headers["Accept"] == "application/json"
    assert headers["If-None-Match"] == "null"  # documented for every request, so nothing comes from a cache
    assert headers["Prefer"] == 'odata.include-annotations="*",odata.maxpagesize=50'


async def test_query_without_annotations_or_page_size_sends_no_prefer(harness):
    h = harness(ROWS)
    await h.client.query("accounts", annotations=False)
    assert "Prefer" not in h.last.headers


async def test_query_options_arrive_intact(harness):
    h = harness(ROWS)
    odata_filter = "name eq 'O''Bryan & Sons #1' and revenue gt 100000"
    await h.client.query(
        "accounts",
        select=["name", "revenue", "_primarycontactid_value"],
        filter=odata_filter,
        orderby="revenue desc,name",
        top=10,
        expand="primarycontactid($select=fullname)",
        count=True,
    )
    assert h.path() == "/api/data/v9.2/accounts"
    assert h.params() == [
        ("$select", "name,revenue,_primarycontactid_value"),
        ("$filter", odata_filter),
        ("$orderby", "revenue desc,name"),
        ("$top", "10"),
        ("$expand", "primarycontactid($select=fullname)"),
        ("$count", "true"),
    ]
    raw_query = h.last.url.raw_path.decode().split("?", 1)[1]
    assert "+" not in raw_query  # spaces travel as %20: a literal + would mean a space to some servers


async def test_query_returns_rows_count_and_next_link(harness):
    next_link = f"{ENV}/api/data/v9.2/accounts?$skiptoken=x"
    h = harness(httpx.Response(200, json={"value": [{"a": 1}], "@odata.count": 42, "@odata.nextLink": next_link}))
    page = await h.client.query("accounts", count=True)
    assert (page.rows, page.count, page.next_link) == ([{"a": 1}], 42, next_link)


@pytest.mark.parametrize("page_size", [0, -1, 5001, True])
async def test_page_size_must_be_within_dataverse_limits(harness, page_size):
    h = harness(ROWS)
    with pytest.raises(ValueError, match="page_size"):
        await h.client.query("accounts", page_size=page_size)
    assert h.requests == []


async def test_fetch_xml_is_sent_as_the_fetchXml_parameter_and_paging_annotations_are_read(harness):
    xml = '<fetch count="2" page="1"><entity name="account"><attribute name="name"/></entity></fetch>'
    annotation = (
        '<cookie pagenumber="2" pagingcookie="%253ccookie%2520page%253d%25221%2522%253e%253caccountid%2520last'
        '%253d%2522%257bE062B974-7F8D-DC11-9048-0003FF27AC3B%257d%2522%2520%252f%253e%253c%252fcookie%253e" '
        'istracking="False" />'
    )
    h = harness(
        httpx.Response(
            200,
            json={
                "value": [{"name": "A"}, {"name": "B"}],
                "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie": annotation,
                "@Microsoft.Dynamics.CRM.morerecords": True,
            },
        )
    )
    page = await h.client.fetch_xml("accounts", xml, annotations=False)
    assert h.params() == [("fetchXml", xml)]
    assert h.last.headers["Prefer"] == (
        'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"'
    )
    assert page.rows == [{"name": "A"}, {"name": "B"}]
    assert page.more_records is True
    assert page.next_page == 2
    assert page.paging_cookie == '<cookie page="1"><accountid last="{E062B974-7F8D-DC11-9048-0003FF27AC3B}" /></cookie>'


async def test_fetch_xml_last_page_has_no_more_records(harness):
    h = harness(httpx.Response(200, json={"value": []}))
    page = await h.client.fetch_xml("accounts", '<fetch><entity name="account"/></fetch>')
    assert (page.more_records, page.paging_cookie, page.next_page) == (False, None, None)
    assert h.last.headers["Prefer"] == 'odata.include-annotations="*"'


async def test_fetch_xml_over_the_url_limit_is_refused_before_sending(harness):
    conditions = "".join(f'<condition attribute="name" operator="eq" value="account number {i}"/>' for i in range(400))
    xml = f'<fetch><entity name="account"><filter type="or">{conditions}</filter></entity></fetch>'
    h = harness(ROWS)
    with pytest.raises(UrlTooLongError, match="32,768"):
        await h.client.fetch_xml("accounts", xml)
    assert h.requests == []


async def test_retrieve_addresses_the_record_by_canonical_guid_and_keeps_the_etag(harness):
    h = harness(httpx.Response(200, json={"name": "Contoso"}, headers={"ETag": 'W/"470867"'}))
    row = await h.client.retrieve("accounts", RECORD, select=["name"])
    assert h.path() == f"/api/data/v9.2/accounts({RECORD_LOWER})"
    assert h.params() == [("$select", "name")]
    assert row == {"name": "Contoso", "@odata.etag": 'W/"470867"'}


async def test_create_posts_json_and_returns_the_id_from_odata_entityid(harness):
    h = harness(httpx.Response(204, headers={"OData-EntityId": f"{ENV}/api/data/v9.2/accounts({RECORD})"}))
    body = {"name": "Zoë & Co", "primarycontactid@odata.bind": f"/contacts({RECORD_LOWER})"}
    new_id = await h.client.create("accounts", body)
    assert new_id == RECORD_LOWER
    assert h.last.method == "POST"
    assert h.path() == "/api/data/v9.2/accounts"
    assert h.last.headers["Content-Type"].startswith("application/json")
    assert json.loads(h.last.content) == body
    assert "If-Match" not in h.last.headers


async def test_create_reads_the_id_from_a_201_body(harness):
    h = harness(httpx.Response(201, json={"@odata.id": f"{ENV}/api/data/v9.2/accounts({RECORD_LOWER})", "name": "x"}))
    assert await h.client.create("accounts", {"name": "x"}) == RECORD_LOWER


async def test_create_without_an_id_in_the_answer_is_an_error(harness):
    h = harness(httpx.Response(204))
    with pytest.raises(DataverseError, match="did not say its id"):
        await h.client.create("accounts", {"name": "x"})


async def test_update_is_a_patch_that_must_not_create(harness):
    h = harness(httpx.Response(204))
    await h.client.update("accounts", RECORD, {"name": "New"})
    assert h.last.method == "PATCH"
    assert h.path() == f"/api/data/v9.2/accounts({RECORD_LOWER})"
    assert h.last.headers["If-Match"] == "*"
    assert json.loads(h.last.content) == {"name": "New"}


async def test_update_with_etag_sends_it_as_if_match(harness):
    h = harness(httpx.Response(204))
    await h.client.update("accounts", RECORD, {"name": "New"}, etag='W/"81052965"')
    assert h.last.headers["If-Match"] == 'W/"81052965"'


async def test_an_etag_cannot_inject_headers(harness):
    h = harness(httpx.Response(204))
    with pytest.raises(ValueError, match="not an ETag"):
        await h.client.update("accounts", RECORD, {"name": "New"}, etag='W/"1"\r\nX-Evil: 1')
    assert h.requests == []


async def test_delete_sends_if_match_only_with_an_etag(harness):
    h = harness(httpx.Response(204))
    await h.client.delete("accounts", RECORD)
    assert h.last.method == "DELETE" and "If-Match" not in h.last.headers
    await h.client.delete("accounts", RECORD, etag='W/"9"')
    assert h.last.headers["If-Match"] == 'W/"9"'


async def test_whoami_reads_the_three_ids(harness):
    h = harness(
        httpx.Response(
            200,
            json={
                "@odata.context": f"{ENV}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                "BusinessUnitId": "5E8A0000-0000-0000-0000-000000000001",
                "UserId": "5E8A0000-0000-0000-0000-000000000002",
                "OrganizationId": "5E8A0000-0000-0000-0000-000000000003",
            },
        )
    )
    me = await h.client.whoami()
    assert h.path() == "/api/data/v9.2/WhoAmI"
    assert (me.user_id, me.business_unit_id, me.organization_id) == (
        "5e8a0000-0000-0000-0000-000000000002",
        "5e8a0000-0000-0000-0000-000000000001",
        "5e8a0000-0000-0000-0000-000000000003",
    )


async def test_user_profile_combines_systemuser_and_usersettings(harness):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/data/v9.2/systemusers("):
            return httpx.Response(
                200,
                json={
                    "fullname": "Alice Anders",
                    "internalemailaddress": "alice@contoso.com",
                    "_businessunitid_value": "5e8a0000-0000-0000-0000-000000000001",
                    "_businessunitid_value@OData.Community.Display.V1.FormattedValue": "Contoso Sales",
                },
            )
        if request.url.path.startswith("/api/data/v9.2/usersettingscollection("):
            return httpx.Response(200, json={"timezonecode": 35})
        return httpx.Response(404)

    h = harness(answer)
    profile = await h.client.get_user_profile(RECORD)
    assert profile.user_id == RECORD_LOWER
    assert (profile.full_name, profile.email, profile.business_unit, profile.timezone_code) == (
        "Alice Anders",
        "alice@contoso.com",
        "Contoso Sales",
        35,
    )
    assert sorted(h.path(r) for r in h.requests) == [
        f"/api/data/v9.2/systemusers({RECORD_LOWER})",
        f"/api/data/v9.2/usersettingscollection({RECORD_LOWER})",
    ]


async def test_request_json_accepts_relative_and_environment_absolute_paths(harness):
    h = harness(httpx.Response(200, json={"ok": True}), httpx.Response(204))
    response, body = await h.client.request_json(
        "POST", "/api/search/v2.0/query", json={"search": "contoso"}, idempotent=True
    )
    assert (response.status_code, body) == (200, {"ok": True})
    assert h.path() == "/api/search/v2.0/query"
    _, body = await h.client.request_json(
        "POST",
        f"accounts({RECORD_LOWER})/opportunity_customer_accounts/$ref",
        json={"@odata.id": f"{ENV}/api/data/v9.2/opportunities({RECORD_LOWER})"},
    )
    assert body is None
    assert h.path() == f"/api/data/v9.2/accounts({RECORD_LOWER})/opportunity_customer_accounts/$ref"


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "../x",
        "accounts/../../x",
        "accounts?$top=1",
        "accounts#x",
        "accounts/%2e%2e/x",
        "accounts\\x",
        "accounts x",
        "",
    ],
)
async def test_request_json_refuses_paths_that_leave_the_environment_or_carry_a_query(harness, path):
    h = harness(httpx.Response(200, json={}))
    with pytest.raises(ValueError):
        await h.client.request_json("GET", path)
    assert h.requests == []


async def test_request_json_does_not_let_callers_replace_the_token(harness):
    h = harness(httpx.Response(200, json={}))
    with pytest.raises(ValueError, match="Authorization"):
        await h.client.request_json("GET", "WhoAmI", headers={"authorization": "Bearer stolen"})


async def test_a_success_answer_that_is_not_json_is_an_error(harness):
    h = harness(httpx.Response(200, text="<html>sign in</html>"))
    with pytest.raises(DataverseError, match="not JSON"):
        await h.client.query("accounts")


async def test_redirects_are_not_followed_so_the_token_stays_home(harness):
    h = harness(httpx.Response(302, headers={"Location": "https://evil.example/steal"}), ROWS)
    with pytest.raises(DataverseError):
        await h.client.query("accounts")
    assert len(h.requests) == 1


def test_environment_url_is_normalised_and_the_api_url_derived():
    async def token() -> str:
        return "t"

    client = DataverseClient("https://Contoso.crm.dynamics.com/", token, http=create_http_client())
    assert client.environment_url == "https://contoso.crm.dynamics.com"
    assert client.api_url == "https://contoso.crm.dynamics.com/api/data/v9.2/"


@pytest.mark.parametrize(
    "url", ["ftp://contoso.crm.dynamics.com", "contoso", "https://u:p@contoso.com", "https://x.com/?a=1"]
)
def test_environment_url_must_be_a_plain_http_url(url):
    async def token() -> str:
        return "t"

    with pytest.raises(ValueError, match="environment_url"):
        DataverseClient(url, token, http=create_http_client())
