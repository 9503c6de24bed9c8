"""What every sandbox route handler gets: the organisation, the caller's secured dataset, their preferences and
formatter, the parsed query string, and helpers to build Dataverse-shaped JSON responses and URLs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from dataverse.sandbox.dataverse.formatting import Formatter, Preferences
from dataverse.sandbox.dataverse.model import LookupValue, SandboxError, Table
from dataverse.sandbox.dataverse.security import SecuredDataset
from dataverse.sandbox.dataverse.state import SandboxOrganization

API_PREFIX = "/api/data/v9.2"
JSON_CONTENT_TYPE = "application/json; odata.metadata=minimal"


@dataclass
class RequestContext:
    request: Request
    org: SandboxOrganization
    dataset: SecuredDataset
    preferences: Preferences
    formatter: Formatter
    base_url: str  # the environment URL, e.g. http://127.0.0.1:7071/sandbox/dataverse
    raw_query: str
    params: list[tuple[str, str]]

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    def context_url(self, fragment: str) -> str:
        return f"{self.api_url}/$metadata#{fragment}"

    def entity_url(self, table: Table, row_id: str) -> str:
        return f"{self.api_url}/{table.entity_set}({row_id})"

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    async def json_body(self) -> dict[str, Any]:
        raw = await self.request.body()
        try:
            body = json.loads(raw or b"null")
        except ValueError as error:
            raise SandboxError(400, "0x80040216", f"Error reading the request body: {error}") from error
        if not isinstance(body, dict):
            raise SandboxError(400, "0x80040216", "The request body must be a JSON object.")
        return body


def build_context(request: Request, org: SandboxOrganization, dataset: SecuredDataset, base_url: str) -> RequestContext:
    preferences = Preferences.from_headers(request.headers.getlist("prefer"))
    formatter = Formatter(
        preferences=preferences,
        timezone=org.timezone_of(dataset.caller.user_id),
        name_of=lambda value: _primary_name(org, value),
        navigation_of=_navigation_of,
    )
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    params = parse_qsl(raw_query, keep_blank_values=True)
    return RequestContext(request, org, dataset, preferences, formatter, base_url.rstrip("/"), raw_query, params)


def _primary_name(org: SandboxOrganization, value: LookupValue) -> str | None:
    table = org.tables.get(value.table)
    row = org.get_row(value.table, value.id) if table else None
    if row is None or not table or not table.primary_name:
        return None
    name = row.get(table.primary_name)
    return str(name) if name is not None else None


def _navigation_of(table: Table, column: str, value: LookupValue) -> str | None:
    for relationship in table.many_to_one:
        if relationship.referencing_attribute == column and relationship.referenced_entity == value.table:
            return relationship.navigation_property
    return None


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def error_response(error: SandboxError, *, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.body(), status=error.status, headers=headers)
