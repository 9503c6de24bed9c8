"""Dataverse search (`POST <env>/api/search/v2.0/query`): the request body, and its answer parsed into SearchHit.

The endpoint lives beside the Web API, not under it. Its body names the tables to search as a JSON-encoded string
(`entities`: `[{"name", "selectColumns"}]`); its answer is `{"response": "<JSON string>"}` whose inner object holds
`Error` and `Value` (`[{"Id", "EntityName", "Attributes", "Score", ...}]`). Searching only reads, so the request is
retried like a GET.

An environment without Dataverse search answers 404 or 403 (search switched off) or 501; those arrive as the usual
NotFoundError, PermissionDeniedError and ServerError, and `is_search_unavailable` says which errors mean that.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .errors import DataverseError, NotFoundError, PermissionDeniedError
from .models import SearchHit
from .odata import format_guid, validate_identifier, validate_logical_name
from .wire import positive_int

SEARCH_PATH = "/api/search/v2.0/query"
MAX_SEARCH_TEXT = 100  # characters Dataverse search accepts in `search`
MAX_TOP = 100
DEFAULT_TOP = 50
UNAVAILABLE_STATUSES = frozenset({404, 403, 501})

SearchEntities = Sequence[tuple[str, Sequence[str]]]  # (table logical name, columns to return)


def search_body(text: str, *, entities: SearchEntities, top: int) -> dict[str, Any]:
    """The query body. ValueError for empty or over-long text, no tables, a bad name, or `top` outside 1-100.

    No tables is refused rather than sent: Dataverse reads a missing `entities` as "every searchable table"."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("search text must be a non-empty string")
    if len(text) > MAX_SEARCH_TEXT:
        raise ValueError(f"search text must be at most {MAX_SEARCH_TEXT} characters, not {len(text)}")
    if isinstance(entities, str | bytes) or not entities:
        raise ValueError("entities must name at least one table to search, as (table, columns) pairs")
    scopes = []
    for entity in entities:
        if not isinstance(entity, tuple) or len(entity) != 2 or isinstance(entity[1], str | bytes):
            raise ValueError(f"each entity must be a (table, columns) pair, not {entity!r}")
        table, columns = entity
        scope: dict[str, Any] = {"name": validate_logical_name(table)}
        if columns:
            scope["selectColumns"] = [validate_identifier(column, kind="column name") for column in columns]
        scopes.append(scope)
    return {
        "search": text,
        "entities": json.dumps(scopes, separators=(",", ":")),
        "top": positive_int(top, "top", maximum=MAX_TOP),
    }


def parse_search_response(body: Any) -> list[SearchHit]:
    """The hits of a search answer, in search's order. A hit without a table or a GUID id is left out; an answer that
    is not a search result, or one reporting an error, raises DataverseError."""
    inner = body.get("response") if isinstance(body, dict) and "response" in body else body
    if isinstance(inner, str):
        try:
            inner = json.loads(inner)
        except ValueError:
            raise DataverseError("Dataverse search answered with a response that is not JSON") from None
    if not isinstance(inner, dict):
        raise DataverseError("Dataverse search answered without a search result")
    error = inner.get("Error")
    if isinstance(error, dict) and (error.get("message") or error.get("code")):
        raise DataverseError(f"Dataverse search failed: {error.get('message') or 'no reason given'}",
                             code=str(error.get("code") or ""))
    hits = inner.get("Value")
    if hits is None:
        return []
    if not isinstance(hits, list):
        raise DataverseError("Dataverse search answered with a 'Value' that is not a list")
    return [hit for hit in (_parse_hit(row) for row in hits) if hit is not None]


def is_search_unavailable(error: DataverseError) -> bool:
    """True when the error means the environment has no Dataverse search (off, not allowed, or not implemented)."""
    return isinstance(error, NotFoundError | PermissionDeniedError) or error.status in UNAVAILABLE_STATUSES


def _parse_hit(row: Any) -> SearchHit | None:
    if not isinstance(row, dict) or not isinstance(row.get("EntityName"), str) or not row["EntityName"]:
        return None
    raw_id = row.get("Id")
    try:
        record_id = format_guid(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        record_id = None
    if record_id is None:
        return None
    attributes = row.get("Attributes")
    score = row.get("Score")
    return SearchHit(
        table=row["EntityName"].lower(),
        id=record_id,
        attributes=dict(attributes) if isinstance(attributes, dict) else {},
        score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
    )
