"""FetchXML validation and paging: parse untrusted FetchXML safely, read its table, set paging attributes.

Parsing uses defusedxml (no DTDs, no entity expansion, no external references). A query must be one `<fetch>` root
holding exactly one `<entity name="...">`. Errors are `InvalidFetchXmlError` (a ValueError) saying what to fix.
"""

from __future__ import annotations

import re
from urllib.parse import unquote
from xml.etree.ElementTree import Element, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

DEFAULT_MAX_BYTES = 32_768
MAX_DEPTH = 40  # real queries nest link-entities and filters a handful deep; serialising 1,500 levels recurses
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")


class InvalidFetchXmlError(ValueError):
    """The FetchXML cannot be sent: the message says what to change."""


def validate_fetch_xml(xml: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Element:
    """Parse and check a FetchXML query; returns the `<fetch>` element."""
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidFetchXmlError('FetchXML is empty: send a <fetch> element with one <entity name="...">')
    size = len(xml.encode("utf-8"))
    if size > max_bytes:
        raise InvalidFetchXmlError(
            f"FetchXML is {size:,} bytes, over the {max_bytes:,}-byte limit: select fewer attributes or conditions"
        )
    try:
        root: Element = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise InvalidFetchXmlError(
            f"FetchXML may not contain a DTD, entity declarations or external references ({type(error).__name__})"
        ) from None
    except ParseError as error:
        raise InvalidFetchXmlError(f"FetchXML is not well-formed XML: {error}") from None
    depth = _depth(root)
    if depth > MAX_DEPTH:
        raise InvalidFetchXmlError(
            f"FetchXML nests {depth} elements deep, over the limit of {MAX_DEPTH}: flatten nested <filter> elements "
            "(one filter with type='or' holds many conditions) and link fewer tables"
        )
    if root.tag != "fetch":
        raise InvalidFetchXmlError(f"FetchXML must have <fetch> as its root element, not <{root.tag}>")
    entities = [child for child in root if child.tag == "entity"]
    if len(entities) != 1:
        raise InvalidFetchXmlError(f"FetchXML must contain exactly one <entity> under <fetch>, found {len(entities)}")
    name = entities[0].get("name", "")
    if not _NAME.match(name):
        raise InvalidFetchXmlError(
            f"<entity name={name!r}> is not a table logical name: use the lower-case logical name, e.g. 'account'"
        )
    return root


def _depth(root: Element) -> int:
    """How deep the element tree goes, found without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in element)
    return deepest


def entity_name(xml: str) -> str:
    """The logical name of the table a FetchXML query reads (`<entity name="account">` -> "account")."""
    entity = validate_fetch_xml(xml).find("entity")
    name = entity.get("name") if entity is not None else None
    if name is None:  # validate_fetch_xml has checked both; kept so a later change there cannot return None
        raise InvalidFetchXmlError('FetchXML must contain one <entity name="...">')
    return name


def with_paging(xml: str, *, page: int, count: int, paging_cookie: str | None = None) -> str:
    """The query with `page`, `count` and (if given) `paging-cookie` set on `<fetch>`; `top` cannot be combined."""
    root = validate_fetch_xml(xml)
    if root.get("top") is not None:
        raise InvalidFetchXmlError("FetchXML with top= cannot be paged: remove top= and use count= with paging instead")
    if not (isinstance(page, int) and page >= 1):
        raise InvalidFetchXmlError(f"page must be a whole number from 1 up, not {page!r}")
    if not (isinstance(count, int) and 1 <= count <= 5000):
        raise InvalidFetchXmlError(f"count must be between 1 and 5000, not {count!r}")
    root.set("page", str(page))
    root.set("count", str(count))
    if paging_cookie:
        root.set("paging-cookie", paging_cookie)
    elif "paging-cookie" in root.attrib:
        del root.attrib["paging-cookie"]
    return tostring(root, encoding="unicode")


def parse_paging_cookie_annotation(annotation: str | None) -> tuple[int | None, str | None]:
    """(next page number, paging cookie) from `@Microsoft.Dynamics.CRM.fetchxmlpagingcookie`.

    Dataverse sends `<cookie pagenumber="2" pagingcookie="%253ccookie..." istracking="False" />`: the inner cookie is
    URL-encoded twice. The cookie returned is decoded, ready for `with_paging(paging_cookie=...)`. An annotation that
    is not in this shape gives (None, None): paging by page number still works, only more slowly.
    """
    if not annotation:
        return None, None
    try:
        element = fromstring(annotation, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError):
        return None, None
    page_text = element.get("pagenumber", "")
    page = int(page_text) if page_text.isdigit() else None
    encoded = element.get("pagingcookie")
    cookie = unquote(unquote(encoded)) if encoded else None
    return page, cookie or None
