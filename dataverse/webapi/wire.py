"""How the client composes requests and reads answers: environment URLs, escape-hatch paths, next links, Prefer
headers, ETags, JSON bodies, pages and created ids. Pure functions, no I/O."""

from __future__ import annotations

import re
from typing import Any

import httpx

from .errors import DataverseError
from .models import Page
from .odata import format_guid

ALL_ANNOTATIONS = 'odata.include-annotations="*"'
FETCH_PAGING_ANNOTATIONS = (
    'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"'
)
MAX_PAGE_SIZE = 5000
ENTITY_ID = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*\Z")
SAFE_PATH = re.compile(r"[A-Za-z0-9_.,()'=$@/:%*-]*\Z")


def check_next_link(next_link: str, api_url: str) -> None:
    """Refuse a next link that is not under `api_url` (same scheme, host, port and path prefix, no tricks)."""
    if not isinstance(next_link, str):
        raise TypeError("next_link must be a str")
    api = httpx.URL(api_url)
    try:
        url = httpx.URL(next_link)
    except httpx.InvalidURL as error:
        raise ValueError(f"next_link is not a valid URL: {error}") from None
    raw_path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    problems = [
        url.scheme != api.scheme,
        url.host != api.host,
        url.port != api.port,
        bool(url.userinfo),
        bool(url.fragment) or "#" in next_link,
        not raw_path.startswith(api.path),
        ".." in next_link.split("?", 1)[0] or "%2e" in raw_path.lower() or "\\" in next_link,
        any(ord(char) < 0x21 or ord(char) == 0x7F for char in next_link),
    ]
    if any(problems):
        raise ValueError(
            f"next_link must be an @odata.nextLink returned by this environment's Web API ({api_url}); "
            f"it cannot point elsewhere"
        )


def normalise_environment_url(url: str) -> str:
    parsed = httpx.URL(url.strip().rstrip("/"))
    if parsed.scheme not in ("https", "http") or not parsed.host or parsed.userinfo or parsed.query or parsed.fragment:
        raise ValueError(f"environment_url must be like https://contoso.crm.dynamics.com, not {url!r}")
    return str(parsed).rstrip("/")


def check_path(path: str) -> None:
    """Relative Web API path or absolute path under the environment; never a URL, a query string or a dot segment."""
    if (
        not isinstance(path, str)
        or not path
        or path.startswith("//")
        or "://" in path
        or not SAFE_PATH.match(path)
        or any(segment in ("..", ".") for segment in path.split("/"))
        or "%2e" in path.lower()
        or "%2f" in path.lower()
    ):
        raise ValueError(
            f"{path!r} is not a valid Web API path: give a path like 'accounts(<id>)/nav/$ref' or "
            f"'/api/search/v2.0/query', and pass query options in params"
        )


def prefer_header(annotations: bool, page_size: int | None) -> list[str]:
    prefer = [ALL_ANNOTATIONS] if annotations else []
    if page_size is not None:
        prefer.append(f"odata.maxpagesize={positive_int(page_size, 'page_size', maximum=MAX_PAGE_SIZE)}")
    return prefer


def positive_int(value: int, name: str, *, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (maximum and value > maximum):
        limit = f" and at most {maximum}" if maximum else ""
        raise ValueError(f"{name} must be a whole number of at least 1{limit}, not {value!r}")
    return value


def if_match(etag: str | None) -> str:
    if etag is None:
        return "*"
    if not isinstance(etag, str) or not etag.strip() or any(char in etag for char in "\r\n\x00"):
        raise ValueError(f'{etag!r} is not an ETag: pass the row\'s @odata.etag value, e.g. W/"81052965"')
    return etag.strip()


def json_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise DataverseError(
            f"Dataverse answered HTTP {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None


def value_rows(body: Any) -> list[dict[str, Any]]:
    rows = body.get("value") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise DataverseError("Dataverse answered a query without a 'value' list of rows")
    return rows


def page_from(body: Any) -> Page:
    rows = value_rows(body)
    count = body.get("@odata.count")
    return Page(rows=rows, next_link=body.get("@odata.nextLink"), count=int(count) if count is not None else None)


def created_id(response: httpx.Response, body: Any) -> str:
    for header in ("OData-EntityId", "Location"):
        match = ENTITY_ID.search(response.headers.get(header, ""))
        if match:
            return format_guid(match.group(1))
    if isinstance(body, dict):
        match = ENTITY_ID.search(str(body.get("@odata.id", "")))
        if match:
            return format_guid(match.group(1))
    raise DataverseError(
        "Dataverse created the record but did not say its id (no OData-EntityId header)", status=response.status_code
    )
