"""Paging through @odata.nextLink: links are followed unedited with the same page size, and only this API's links."""

from __future__ import annotations

import httpx
import pytest

ENV = "https://contoso.crm.dynamics.com"
SKIPTOKEN = (
    "%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%253caccountid"
    "%2520last%253d%2522%257b3B5B56D5-8A2E-EE11-BDF4-000D3A1B2C3D%257d%2522%2520%252f%253e%253c%252fcookie%253e"
    "%22%20istracking=%22False%22%20/%3E"
)
NEXT_LINK = f"{ENV}/api/data/v9.2/accounts?$select=name&$skiptoken={SKIPTOKEN}"


def pages(request: httpx.Request) -> httpx.Response:
    if "$skiptoken" in str(request.url):
        return httpx.Response(200, json={"value": [{"name": "C"}]})
    return httpx.Response(200, json={"value": [{"name": "A"}, {"name": "B"}], "@odata.nextLink": NEXT_LINK})


async def test_following_next_links_until_the_last_page(harness):
    h = harness(pages)
    first = await h.client.query("accounts", select=["name"], page_size=2)
    assert first.next_link == NEXT_LINK
    second = await h.client.query_next(first.next_link, page_size=2)
    assert [row["name"] for row in first.rows + second.rows] == ["A", "B", "C"]
    assert second.next_link is None


async def test_the_next_link_is_sent_unedited_with_the_same_page_size(harness):
    h = harness(pages)
    await h.client.query_next(NEXT_LINK, page_size=2)
    assert str(h.last.url) == NEXT_LINK
    assert h.last.headers["Prefer"] == 'odata.include-annotations="*",odata.maxpagesize=2'
    assert h.last.headers["Authorization"] == "Bearer token-1"


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/data/v9.2/accounts?$skiptoken=x",  # another host gets the user's token
        "https://contoso.crm.dynamics.com.evil.example/api/data/v9.2/accounts",
        "http://contoso.crm.dynamics.com/api/data/v9.2/accounts?$skiptoken=x",  # downgraded to plain HTTP
        "https://contoso.crm.dynamics.com:8443/api/data/v9.2/accounts",
        "https://user:pw@contoso.crm.dynamics.com/api/data/v9.2/accounts",
        "https://contoso.crm.dynamics.com/api/data/v9.1/accounts",  # outside this API version
        "https://contoso.crm.dynamics.com/api/search/v2.0/query",
        "https://contoso.crm.dynamics.com/api/data/v9.2/../../evil",
        "https://contoso.crm.dynamics.com/api/data/v9.2/%2e%2e/%2e%2e/evil",
        "https://contoso.crm.dynamics.com/api/data/v9.2/accounts#frag",
        "https://contoso.crm.dynamics.com/api/data/v9.2/accounts?$skiptoken=a\r\nX-Evil: 1",
        "/api/data/v9.2/accounts?$skiptoken=x",
        "accounts?$skiptoken=x",
        "javascript:alert(1)",
    ],
)
async def test_query_next_refuses_links_that_are_not_this_environments_api(harness, link):
    h = harness(pages)
    with pytest.raises(ValueError, match="next_link"):
        await h.client.query_next(link)
    assert h.requests == []


async def test_host_comparison_ignores_case(harness):
    h = harness(pages)
    await h.client.query_next(NEXT_LINK.replace("contoso", "CONTOSO"))
    assert len(h.requests) == 1
