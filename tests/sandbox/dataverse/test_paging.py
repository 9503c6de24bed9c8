"""Server-driven paging: `Prefer: odata.maxpagesize`, `Preference-Applied`, nextLink = original URL + `$skiptoken`
cookie in Dataverse's exact shape, every page walked with no duplicates and nothing missed, `$top` ignored."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import httpx
from sandbox_dataverse_support import API, BASE_URL, HOST

COOKIE = re.compile(r'^<cookie pagenumber="(\d+)" pagingcookie="([^"]+)" istracking="False" />$')


async def _walk(client: httpx.AsyncClient, url: str, page_size: int) -> tuple[list[dict], list[str]]:
    rows, links = [], []
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["preference-applied"] == f"odata.maxpagesize={page_size}"
        body = response.json()
        assert len(body["value"]) <= page_size
        rows.extend(body["value"])
        link = body.get("@odata.nextLink")
        if link:
            assert len(body["value"]) == page_size
            links.append(link)
            assert link.startswith(BASE_URL)
            url = link.removeprefix(HOST)
        else:
            url = ""
    return rows, links


async def test_walking_every_page_returns_each_row_once(carol, org):
    rows, links = await _walk(carol, f"{API}/contacts?$select=fullname", 40)
    ids = [row["contactid"] for row in rows]
    assert len(ids) == len(set(ids)) == len(org.rows["contact"])
    assert len(links) == -(-len(org.rows["contact"]) // 40) - 1


async def test_paging_keeps_the_order_and_filter(alice, org):
    url = f"{API}/opportunities?$select=name,estimatedvalue&$filter=statecode eq 0&$orderby=estimatedvalue desc"
    rows, links = await _walk(alice, url, 7)
    values = [row["estimatedvalue"] for row in rows]
    assert values == sorted(values, reverse=True)
    expected = {row["opportunityid"] for row in org.rows["opportunity"].values()
                if row["statecode"] == 0 and row["ownerid"].id == "5e000000-0000-4000-8000-0000000a11ce"}
    assert {row["opportunityid"] for row in rows} == expected
    assert links and all("$filter=statecode%20eq%200" in link for link in links)


async def test_next_link_is_the_original_url_plus_a_dataverse_skiptoken(carol):
    response = await carol.get(f"{API}/accounts?$select=name", headers={"Prefer": "odata.maxpagesize=10"})
    body = response.json()
    link = body["@odata.nextLink"]
    assert link.startswith(f"{BASE_URL}/api/data/v9.2/accounts?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22")
    query = urlsplit(link).query
    token = unquote(query.split("$skiptoken=", 1)[1])
    match = COOKIE.match(token)
    assert match and match.group(1) == "2"
    assert match.group(2).startswith("%3ccookie%20page%3d%221%22%3e%3caccountid%20last%3d%22%7b")
    inner = unquote(match.group(2))
    last_id = body["value"][-1]["accountid"].upper()
    first_id = body["value"][0]["accountid"].upper()
    assert inner == f'<cookie page="1"><accountid last="{{{last_id}}}" first="{{{first_id}}}" /></cookie>'
    assert "%253c" in link  # the inner cookie is double-encoded in the URL


async def test_second_link_carries_page_three(carol):
    first = (await carol.get(f"{API}/accounts?$select=name", headers={"Prefer": "odata.maxpagesize=10"})).json()
    second = (await carol.get(first["@odata.nextLink"].removeprefix(HOST),
                              headers={"Prefer": "odata.maxpagesize=10"})).json()
    assert "pagenumber=%223%22" in second["@odata.nextLink"]
    assert second["@odata.nextLink"].count("$skiptoken=") == 1


async def test_top_is_ignored_when_maxpagesize_is_sent(carol, org):
    rows, _ = await _walk(carol, f"{API}/leads?$select=subject&$top=3", 20)
    assert len(rows) == len(org.rows["lead"])


async def test_top_without_paging_has_no_next_link(carol):
    body = (await carol.get(f"{API}/contacts?$select=fullname&$top=3")).json()
    assert len(body["value"]) == 3 and "@odata.nextLink" not in body


async def test_last_page_has_no_next_link_and_small_sets_fit_one_page(carol):
    body = (await carol.get(f"{API}/systemusers?$select=fullname", headers={"Prefer": "odata.maxpagesize=3"})).json()
    assert len(body["value"]) == 3 and "@odata.nextLink" not in body


async def test_count_is_the_total_not_the_page(carol, org):
    body = (await carol.get(f"{API}/contacts?$select=fullname&$count=true",
                            headers={"Prefer": "odata.maxpagesize=5"})).json()
    assert body["@odata.count"] == len(org.rows["contact"]) and len(body["value"]) == 5


async def test_edited_skiptoken_is_rejected(carol):
    response = await carol.get(f"{API}/accounts?$select=name&$skiptoken=page2",
                               headers={"Prefer": "odata.maxpagesize=10"})
    assert response.status_code == 400


async def test_prefer_header_combines_page_size_and_annotations(carol):
    response = await carol.get(f"{API}/accounts?$select=name,industrycode", headers={
        "Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue",odata.maxpagesize=2'})
    assert len(response.json()["value"]) == 2
    assert "odata.maxpagesize=2" in response.headers["preference-applied"]
    assert any(key.endswith("FormattedValue") for key in response.json()["value"][0])
