"""Saved views as queries: finding the savedquery (system view) or userquery (personal view) a request names, checking
it may run against the entity set asked for, and turning its FetchXML into the page asked for.

Rules (PD `webapi/retrieve-and-execute-predefined-queries.md`; crm-work section 8):
- `?savedQuery=<savedqueryid>` / `?userQuery=<userqueryid>`, one of them; the view must exist and be readable by the
  caller (a personal view is private to its owner, so anyone else gets 404 as for any record they cannot see);
- the entity set must be the view's `returnedtypecode`; a related collection of that type
  (`accounts(<id>)/opportunity_parent_account?savedQuery=...`) restricts the view to that record's related rows;
- the view runs as the caller, with row security, and answers as FetchXML does (null columns left out).
Paging (not documented for views; the sandbox follows the OData and FetchXML paging it documents):
`Prefer: odata.maxpagesize=N` sets the page size (the view's own `count` otherwise), and the next page is named by a
`$skiptoken` holding Dataverse's paging cookie `<cookie pagenumber="2" pagingcookie="<inner, URL-encoded twice>"
istracking="False" />`, which is also what `@odata.nextLink` carries and the `fetchxmlpagingcookie` annotation holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeTree

from dataverse.sandbox.dataverse.model import Row, SandboxError, Table
from dataverse.sandbox.dataverse.security import SecuredDataset, not_found

BAD_QUERY = "0x80060888"
VIEW_PARAMETERS = {"savedQuery": "savedquery", "userQuery": "userquery"}
_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?")
_OUTER_COOKIE = re.compile(r'<cookie\s+pagenumber="(\d+)"\s+pagingcookie="([^"]*)"(?:\s+istracking="\w+")?\s*/>')


@dataclass(frozen=True)
class PagePosition:
    """Which page of a view to run: its number and, after page 1, the inner paging cookie of the page before."""

    page: int = 1
    paging_cookie: str | None = None


@dataclass(frozen=True)
class Restriction:
    """Run the view over one record's related rows: rows whose `column` points at `record_id`."""

    column: str
    record_id: str


def requested_view(params: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(view table, id) when the query string names a view, else None; 400 for two views or a malformed id."""
    named = [(VIEW_PARAMETERS[name], value) for name, value in params if name in VIEW_PARAMETERS]
    if not named:
        return None
    if len(named) > 1:
        raise SandboxError(400, BAD_QUERY, "Only one of the savedQuery and userQuery parameters can be given.")
    logical_name, raw = named[0]
    match = _GUID.fullmatch(raw.strip())
    if match is None:
        raise SandboxError(400, BAD_QUERY, f"The value '{raw}' of the parameter is not a valid view id (a GUID).")
    return logical_name, match.group(1).lower()


def load_view(dataset: SecuredDataset, logical_name: str, view_id: str, table: Table) -> Row:
    """The view row, readable by the caller and returning rows of `table`; 404 or 400 otherwise."""
    view_table = dataset.table(logical_name)
    view = dataset.get(logical_name, view_id)
    if view is None:
        raise not_found(view_table, view_id)
    if view.get("returnedtypecode") != table.logical_name:
        raise SandboxError(400, BAD_QUERY,
                           f"The {logical_name} '{view.get('name')}' returns {view.get('returnedtypecode')} records "
                           f"and cannot be applied to the entity set '{table.entity_set}'.")
    return view


def parse_skiptoken(text: str | None) -> PagePosition:
    """The page a `$skiptoken` (as received, decoded once) names."""
    if text is None:
        return PagePosition()
    match = _OUTER_COOKIE.fullmatch(text.strip())
    if match is None:
        raise SandboxError(400, BAD_QUERY, "The $skiptoken value is not valid. Do not edit the @odata.nextLink URL.")
    return PagePosition(int(match.group(1)), unquote(unquote(match.group(2))) or None)


def paged_fetch(view: Row, *, page_size: int | None, position: PagePosition,
                restriction: Restriction | None = None) -> str:
    """The view's FetchXML with the paging and restriction applied, ready for fetchxml.run_fetch."""
    xml = str(view.get("fetchxml") or "")
    try:
        root: Element = SafeTree.fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (SafeTree.ParseError, ValueError):
        raise SandboxError(400, "0x80040201", f"The FetchXML of the view '{view.get('name')}' is not valid.") from None
    entity = root.find("entity")
    if restriction is not None and entity is not None:
        condition_filter = SubElement(entity, "filter", {"type": "and"})
        SubElement(condition_filter, "condition",
                   {"attribute": restriction.column, "operator": "eq", "value": restriction.record_id})
    if root.get("top") is None and root.get("aggregate", "").lower() not in ("true", "1"):
        if page_size is not None:
            root.set("count", str(page_size))
        if position.page > 1 or "page" in root.attrib:
            root.set("page", str(position.page))
        if position.paging_cookie:
            root.set("paging-cookie", position.paging_cookie)
    return tostring(root, encoding="unicode")
