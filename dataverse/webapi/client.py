"""The Dataverse Web API client: one environment, one signed-in user's token source, a shared pooled httpx client.

Every request carries the OData headers and a fresh bearer token, goes through `retry.send_with_retries`, and turns
failures into the `errors` hierarchy. Paths and query options are built only from validated pieces (`odata`), so no
caller input can change the request path or add query parameters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .actions import ActionVerbs
from .associations import AssociationVerbs
from .batch import BatchVerbs
from .core import TokenSource
from .fetchxml import parse_paging_cookie_annotation, validate_fetch_xml
from .history import HistoryVerbs
from .metadata import get_datetime_behaviors, get_table_columns, get_table_metadata, list_table_summaries
from .models import (
    DateTimeBehavior,
    FetchPage,
    Page,
    SearchHit,
    TableColumns,
    TableMetadata,
    TableSummary,
    UserProfile,
    WhoAmI,
)
from .odata import (
    collection_path,
    format_guid,
    record_path,
    select_option,
    validate_orderby,
    validate_query_expression,
)
from .search import DEFAULT_TOP, SEARCH_PATH, SearchEntities, parse_search_response, search_body
from .views import ViewVerbs
from .wire import (
    ALL_ANNOTATIONS,
    FETCH_PAGING_ANNOTATIONS,
    check_next_link,
    check_path,
    created_id,
    if_match,
    page_from,
    positive_int,
    prefer_header,
    value_rows,
)

__all__ = ["DataverseClient", "TokenSource", "create_http_client"]


def create_http_client(
    *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0
) -> httpx.AsyncClient:
    """The process-wide pooled client: HTTP/1.1 keep-alive, bounded pool, no redirects (a bearer token never follows
    a redirect to another host)."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50, keepalive_expiry=60.0),
        follow_redirects=False,
        headers={"User-Agent": "dataverse-mcp"},
    )


class DataverseClient(ActionVerbs, AssociationVerbs, BatchVerbs, ViewVerbs, HistoryVerbs):
    """Calls one Dataverse environment's Web API as whoever `token_source` returns tokens for.

    Construct with `DataverseClient(environment_url, token_source, *, http, retry=None, api_version="v9.2",
    on_response=None)` (see `core.ClientCore`). Actions and functions, `$ref` associations, `$batch`, running views
    (`run_view`) and record change history (`get_record_change_history`) are the verb groups of `actions`,
    `associations`, `batch` (built by `batch_request`), `views` and `history`."""

    # --- reading -------------------------------------------------------------------------------------------------
    async def query(
        self,
        entity_set: str,
        *,
        select: Sequence[str] | None = None,
        filter: str | None = None,
        orderby: str | None = None,
        top: int | None = None,
        expand: str | None = None,
        count: bool = False,
        page_size: int | None = None,
        annotations: bool = True,
    ) -> Page:
        params: dict[str, str] = {}
        if select:
            params["$select"] = select_option(select)
        if filter is not None:
            params["$filter"] = validate_query_expression(filter, option="$filter")
        if orderby is not None:
            params["$orderby"] = validate_orderby(orderby)
        if top is not None:
            params["$top"] = str(positive_int(top, "top"))
        if expand is not None:
            params["$expand"] = validate_query_expression(expand, option="$expand")
        if count:
            params["$count"] = "true"
        _, body = await self._request(
            "GET", collection_path(entity_set), params=params, prefer=prefer_header(annotations, page_size)
        )
        return page_from(body)

    async def query_next(self, next_link: str, *, page_size: int | None = None, annotations: bool = True) -> Page:
        """Follow an `@odata.nextLink`, sent exactly as Dataverse gave it (with the same page size as before)."""
        check_next_link(next_link, self.api_url)
        _, body = await self._request("GET", next_link, prefer=prefer_header(annotations, page_size), absolute=True)
        return page_from(body)

    async def fetch_xml(self, entity_set: str, fetch_xml: str, *, annotations: bool = True) -> FetchPage:
        validate_fetch_xml(fetch_xml)
        prefer = [ALL_ANNOTATIONS if annotations else FETCH_PAGING_ANNOTATIONS]
        _, body = await self._request("GET", collection_path(entity_set), params={"fetchXml": fetch_xml}, prefer=prefer)
        rows = value_rows(body)
        next_page, cookie = parse_paging_cookie_annotation(body.get("@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"))
        more = body.get("@Microsoft.Dynamics.CRM.morerecords", False)
        return FetchPage(
            rows=rows,
            more_records=more is True or str(more).lower() == "true",
            paging_cookie=cookie,
            next_page=next_page,
        )

    async def retrieve(
        self,
        entity_set: str,
        record_id: str,
        *,
        select: Sequence[str] | None = None,
        expand: str | None = None,
        annotations: bool = True,
    ) -> dict[str, Any]:
        """One row, raw, including `@odata.etag` (for If-Match on a later update or delete)."""
        params: dict[str, str] = {}
        if select:
            params["$select"] = select_option(select)
        if expand is not None:
            params["$expand"] = validate_query_expression(expand, option="$expand")
        response, body = await self._request(
            "GET", record_path(entity_set, record_id), params=params, prefer=prefer_header(annotations, None)
        )
        row = dict(body) if isinstance(body, dict) else {}
        if "@odata.etag" not in row and response.headers.get("etag"):
            row["@odata.etag"] = response.headers["etag"]
        return row

    async def whoami(self) -> WhoAmI:
        _, body = await self._request("GET", "WhoAmI")
        return WhoAmI(
            user_id=format_guid(body["UserId"]),
            business_unit_id=format_guid(body["BusinessUnitId"]),
            organization_id=format_guid(body["OrganizationId"]),
        )

    async def get_user_profile(self, user_id: str) -> UserProfile:
        user_id = format_guid(user_id)
        (_, user), (_, settings) = await asyncio.gather(
            self._request(
                "GET",
                f"systemusers({user_id})",
                params={"$select": "fullname,internalemailaddress,_businessunitid_value"},
                prefer=[ALL_ANNOTATIONS],
            ),
            self._request("GET", f"usersettingscollection({user_id})", params={"$select": "timezonecode"}),
        )
        timezone = settings.get("timezonecode")
        return UserProfile(
            user_id=user_id,
            full_name=user.get("fullname") or "",
            email=user.get("internalemailaddress") or None,
            business_unit=user.get("_businessunitid_value@OData.Community.Display.V1.FormattedValue") or None,
            timezone_code=int(timezone) if timezone is not None else None,
        )

    async def list_tables(self) -> list[TableSummary]:
        return await list_table_summaries(self._get_json)

    async def get_table_columns(self, logical_name: str) -> TableColumns:
        """One table's definition and its columns' names and types, in one request (what reading rows needs)."""
        return await get_table_columns(self._get_json, logical_name)

    async def get_table(self, logical_name: str) -> TableMetadata:
        """Columns (with choices, lookup targets, lengths) and relationships of one table, in one concurrent round."""
        return await get_table_metadata(self._get_json, logical_name)

    async def get_datetime_behaviors(self, logical_name: str) -> dict[str, DateTimeBehavior]:
        """How each DateTime column of the table stores values (date only, time-zone independent, or user local),
        keyed by column logical name. NotFoundError if there is no such table."""
        return await get_datetime_behaviors(self._get_json, logical_name)

    async def search(self, text: str, *, entities: SearchEntities, top: int = DEFAULT_TOP) -> list[SearchHit]:
        """Dataverse search over `entities`, (table logical name, columns to return) pairs; best hits first, at most
        `top` (1-100). Retried like a read. ValueError for empty text, text over 100 characters or no tables.

        Where the environment has no Dataverse search the error is NotFoundError, PermissionDeniedError or a
        ServerError with status 501 (`search.is_search_unavailable` tells them apart); BadRequestError for a query
        search will not take."""
        body = search_body(text, entities=entities, top=top)
        _, answer = await self._request("POST", SEARCH_PATH, json=body, idempotent=True)
        return parse_search_response(answer)

    # --- writing -------------------------------------------------------------------------------------------------
    async def create(self, entity_set: str, body: dict[str, Any]) -> str:
        """Create a row and return its id. Never retried: a failure after sending raises OutcomeUnknownError."""
        if not isinstance(body, dict):
            raise TypeError("create expects the new row as a dict of column values")
        response, created = await self._request(
            "POST",
            collection_path(entity_set),
            json=body,
            idempotent=False,
            outcome_hint=f"Query {entity_set} for the record before creating it again, or a duplicate may result.",
        )
        return created_id(response, created)

    async def update(self, entity_set: str, record_id: str, body: dict[str, Any], *, etag: str | None = None) -> None:
        """PATCH with If-Match (the row's ETag, or * for "must exist"): never an upsert.

        Raises NotFoundError if the row is missing and ConcurrencyError if the ETag is stale."""
        if not isinstance(body, dict):
            raise TypeError("update expects the changed columns as a dict")
        await self._request(
            "PATCH",
            record_path(entity_set, record_id),
            json=body,
            headers={"If-Match": if_match(etag)},
            idempotent=True,
            outcome_hint="Retrieve the record to see whether the change was applied.",
        )

    async def delete(self, entity_set: str, record_id: str, *, etag: str | None = None) -> None:
        """DELETE, sent once and never retried: after a lost answer a retry would meet 404 and could not tell a
        delete that happened from one that did not. With `etag` it is conditional (If-Match).

        Raises NotFoundError if the row is missing, ConcurrencyError if it changed since `etag` was read,
        ThrottledError on 429 (nothing was deleted), and OutcomeUnknownError when it failed after being sent (5xx,
        no answer in time, connection dropped): then only reading the row tells whether it is gone."""
        headers = {"If-Match": if_match(etag)} if etag is not None else {}
        await self._request(
            "DELETE",
            record_path(entity_set, record_id),
            headers=headers,
            idempotent=False,
            outcome_hint="Retrieve the record to see whether it still exists before deleting again.",
        )

    # --- escape hatch --------------------------------------------------------------------------------------------
    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> tuple[httpx.Response, Any]:
        """Any Web API call: `path` relative to api_url (`accounts(<id>)/nav/$ref`) or an absolute path under the
        environment (`/api/search/v2.0/query`). Retried only when idempotent (default: GET, or PATCH/PUT with
        If-Match; never a DELETE, as with `delete`); pass idempotent=True for a POST that only reads."""
        method = method.upper()
        check_path(path)
        extra = dict(headers or {})
        if any(name.lower() == "authorization" for name in extra):
            raise ValueError("request_json sets Authorization itself; do not pass it in headers")
        if idempotent is None:
            has_if_match = any(name.lower() == "if-match" for name in extra)
            idempotent = method in ("GET", "HEAD") or (method in ("PATCH", "PUT") and has_if_match)
        return await self._request(method, path, params=params, json=json, headers=extra, idempotent=idempotent)
