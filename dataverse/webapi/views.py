"""Running a saved view (savedquery) or a personal view (userquery): which request runs it, and how its answer becomes
a FetchPage.

`GET <entity set>?savedQuery=<savedqueryid>` or `?userQuery=<userqueryid>` runs the view's FetchXML as the signed-in
user; the answer follows FetchXML rules (null columns left out). Paging a view is not documented; Dataverse's answer
carries the same paging cookie as a FetchXML page (`@Microsoft.Dynamics.CRM.fetchxmlpagingcookie`, also found in the
`$skiptoken` of `@odata.nextLink`), so a later page is asked for with `$skiptoken=<cookie pagenumber="N"
pagingcookie="<the previous page's cookie, URL-encoded twice>" istracking="False" />` and the same page size in
`Prefer: odata.maxpagesize`, exactly the request the next link names.

`ViewVerbs.run_view` is the client's verb. Listing the views needs no verb of its own:
`client.query("savedqueries", select=["name", "savedqueryid"], filter="returnedtypecode eq 'account' and querytype
eq 0 and statecode eq 0")` (and "userqueries" for the user's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from .core import ClientCore
from .fetchxml import parse_paging_cookie_annotation
from .models import FetchPage
from .odata import collection_path, format_guid
from .wire import ALL_ANNOTATIONS, FETCH_PAGING_ANNOTATIONS, prefer_header, value_rows

PAGING_COOKIE = "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
MORE_RECORDS = "@Microsoft.Dynamics.CRM.morerecords"


def view_params(
    *, saved_query: str | None, user_query: str | None, page: int, paging_cookie: str | None
) -> dict[str, str]:
    """The query string that runs one of the two kinds of view (exactly one must be given) at `page`."""
    if (saved_query is None) == (user_query is None):
        raise ValueError("run_view needs exactly one of saved_query (a savedqueryid) or user_query (a userqueryid)")
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError(f"page must be a whole number from 1 up, not {page!r}")
    params = {"savedQuery": format_guid(saved_query)} if saved_query is not None else {}
    if user_query is not None:
        params["userQuery"] = format_guid(user_query)
    if page > 1:
        params["$skiptoken"] = skiptoken(page, paging_cookie)
    elif paging_cookie:
        raise ValueError("a paging_cookie belongs to a later page: pass the page number it came with (page >= 2)")
    return params


def skiptoken(page: int, paging_cookie: str | None) -> str:
    """Dataverse's paging cookie for `page`, as its next links carry it (the inner cookie URL-encoded twice)."""
    if paging_cookie is not None and (not isinstance(paging_cookie, str) or "\x00" in paging_cookie):
        raise ValueError("paging_cookie must be the text a previous page returned")
    inner = quote(quote(paging_cookie or "", safe=""), safe="")
    return f'<cookie pagenumber="{page}" pagingcookie="{inner}" istracking="False" />'


def view_page_from(body: Any) -> FetchPage:
    """A view's answer as a FetchPage: the rows, whether more follow, and the cookie and number of the next page
    (from the paging-cookie annotation, or else from the next link's $skiptoken)."""
    rows = value_rows(body)
    annotation = body.get(PAGING_COOKIE)
    next_link = body.get("@odata.nextLink")
    if not annotation and isinstance(next_link, str):
        annotation = dict(parse_qsl(urlsplit(next_link).query)).get("$skiptoken")
    next_page, cookie = parse_paging_cookie_annotation(annotation)
    more = body.get(MORE_RECORDS)
    more_records = more is True or str(more).lower() == "true" if more is not None else bool(next_link)
    return FetchPage(rows=rows, more_records=more_records, paging_cookie=cookie, next_page=next_page)


class ViewVerbs(ClientCore):
    """Running saved and personal views (a read: retried like one)."""

    async def run_view(
        self,
        entity_set: str,
        *,
        saved_query: str | None = None,
        user_query: str | None = None,
        page_size: int | None = None,
        page: int = 1,
        paging_cookie: str | None = None,
        annotations: bool = True,
    ) -> FetchPage:
        """One page of a system view (`saved_query`, a savedqueryid) or personal view (`user_query`) run as the user;
        rows follow FetchXML rules (null columns left out). For the next page pass `page=result.next_page` and
        `paging_cookie=result.paging_cookie` with the same page_size. List views with `query("savedqueries", ...)`."""
        params = view_params(saved_query=saved_query, user_query=user_query, page=page, paging_cookie=paging_cookie)
        prefer = [ALL_ANNOTATIONS if annotations else FETCH_PAGING_ANNOTATIONS, *prefer_header(False, page_size)]
        _, body = await self._request("GET", collection_path(entity_set), params=params, prefer=prefer)
        return view_page_from(body)
