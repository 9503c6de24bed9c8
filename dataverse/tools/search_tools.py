"""`search` and `fetch`, the two tools ChatGPT deep research and company knowledge look for, with exactly their contract:
`search(query)` answers one text item holding `{"results": [{"id", "title", "url"}]}`; `fetch(id)` answers one text
item holding `{"id", "title", "text", "url", "metadata"}`. Ids are `<table>:<guid>`; URLs open the record in the
Dataverse app (`main.aspx`).

`search` uses Dataverse search (`POST <env>/api/search/v2.0/query`) over settings.search_tables. Where the environment
has no Dataverse search (404/403/501; remembered for a while) or the query is shorter than search accepts, it falls
back to matching words in each table's primary name. Both paths act as the signed-in user and honour the table policy.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from dataverse.tools.cache import TTLCache
from dataverse.tools.context import ToolCall, ToolRuntime
from dataverse.tools.errors import (
    InvalidArgumentError,
    dataverse_errors,
    record_id_argument,
    translate_dataverse_error,
)
from dataverse.tools.registration import without_parameter
from dataverse.tools.shaping import FORMATTED, lookup_key
from dataverse.tools.tables import columns_by_name, get_table, list_tables, resolve_table, table_allowed
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.models import TableMetadata, TableSummary
from dataverse.webapi.odata import quote_string

SEARCH_PATH = "/api/search/v2.0/query"
MAX_RESULTS = 20
MIN_SEARCH_LENGTH = 3  # Dataverse search refuses shorter terms
MAX_WORDS = 6
UNAVAILABLE_FOR_SECONDS = 600.0
SKIPPED_COLUMNS = frozenset({"versionnumber", "importsequencenumber", "timezoneruleversionnumber"})


def record_url(environment: str, table: str, record_id: str) -> str:
    """The record's page in the Dataverse app."""
    return f"{environment}/main.aspx?pagetype=entityrecord&etn={table}&id={record_id}"


def _text_result(data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))])


def _words(query: str) -> list[str]:
    words = [word for word in re.split(r"[\s,;]+", query) if len(word.strip("\"'*")) >= 2]
    return [word.strip("\"'*") for word in words][:MAX_WORDS]


class SearchTools:
    def __init__(self, runtime: ToolRuntime):
        self.runtime = runtime
        self._unavailable = TTLCache(max_entries=64, clock=runtime.deps.clock)

    async def search(
        self,
        query: Annotated[str, Field(description="Words to look for in record names, e.g. 'Contoso' or 'Fabrikam "
                                                "renewal'.")],
        environment: Annotated[str | None, Field(description="Dataverse environment URL; omit for the default.")]
        = None,
    ) -> CallToolResult:
        call = self.runtime.begin_call(environment)
        text = " ".join((query or "").split())
        if not _words(text):
            raise InvalidArgumentError("Pass a few words to search for, e.g. query='Contoso'.")
        tables = await self._search_tables(call)
        results = None
        if len(text) >= MIN_SEARCH_LENGTH and call.environment not in self._unavailable:
            results = await self._dataverse_search(call, text[:100], tables)
        if results is None:
            results = await self._name_search(call, text, tables)
        return _text_result({"results": results[:MAX_RESULTS]})

    async def fetch(
        self,
        id: Annotated[str, Field(description="A result id from search: '<table>:<guid>', e.g. 'account:7d71...'.")],
        environment: Annotated[str | None, Field(description="Dataverse environment URL; omit for the default.")]
        = None,
    ) -> CallToolResult:
        call = self.runtime.begin_call(environment)
        table_name, _, raw_id = (id or "").strip().partition(":")
        if not raw_id:
            raise InvalidArgumentError(f"{id!r} is not a search result id; ids look like 'account:<guid>'.")
        record_id = record_id_argument(raw_id)
        summary = await resolve_table(self.runtime, call, table_name)
        metadata = await get_table(self.runtime, call, summary)
        with dataverse_errors(table=summary.logical_name, record_id=record_id):
            row = await call.client.retrieve(summary.entity_set, record_id)
        title = str(row.get(summary.primary_name or "") or f"{summary.display_name or summary.logical_name} record")
        return _text_result({
            "id": f"{summary.logical_name}:{record_id}", "title": title, "text": render_record(row, metadata),
            "url": record_url(call.environment, summary.logical_name, record_id),
            "metadata": {"table": summary.logical_name, "table_display_name": summary.display_name,
                         "environment": call.environment,
                         **({"modifiedon": row["modifiedon"]} if row.get("modifiedon") else {})},
        })

    # --- search paths ---------------------------------------------------------------------------------------------
    async def _search_tables(self, call: ToolCall) -> list[TableSummary]:
        """settings.search_tables that exist in the environment and that the policy allows, in the configured order."""
        wanted = [name.lower() for name in self.runtime.settings.search_tables
                  if table_allowed(self.runtime.settings, name)]
        by_name = {table.logical_name: table for table in await list_tables(self.runtime, call)}
        return [by_name[name] for name in wanted if name in by_name]

    async def _dataverse_search(self, call: ToolCall, text: str,
                                tables: list[TableSummary]) -> list[dict[str, str]] | None:
        """Results from Dataverse search, or None where the environment has none (then the fallback runs)."""
        if not tables:
            return []
        entities = [{"name": t.logical_name, "selectColumns": [t.primary_name]} for t in tables if t.primary_name]
        body = {"search": text, "entities": json.dumps(entities), "top": MAX_RESULTS}
        try:
            _, answer = await call.client.request_json("POST", SEARCH_PATH, json=body, idempotent=True)
        except webapi_errors.DataverseError as error:
            no_search = isinstance(error, (webapi_errors.NotFoundError, webapi_errors.PermissionDeniedError))
            if no_search or error.status == 501:
                self._unavailable.set(call.environment, True, ttl_seconds=UNAVAILABLE_FOR_SECONDS)
                return None
            if isinstance(error, webapi_errors.BadRequestError):
                return None  # a query Dataverse search will not take; the name match still can
            raise translate_dataverse_error(error) from error
        inner = answer.get("response") if isinstance(answer, dict) else None
        parsed = json.loads(inner) if isinstance(inner, str) else (inner or answer or {})
        allowed = {t.logical_name: t for t in tables}
        results = []
        for hit in parsed.get("Value") or []:
            table = allowed.get(str(hit.get("EntityName", "")).lower())
            if table is None or not hit.get("Id"):
                continue  # never surface a table the policy hides, whatever search returns
            attributes = hit.get("Attributes") or {}
            title = attributes.get(table.primary_name or "") or f"{table.display_name or table.logical_name}"
            record_id = str(hit["Id"]).lower()
            results.append({"id": f"{table.logical_name}:{record_id}", "title": str(title),
                            "url": record_url(call.environment, table.logical_name, record_id)})
        return results

    async def _name_search(self, call: ToolCall, text: str, tables: list[TableSummary]) -> list[dict[str, str]]:
        words = _words(text)
        scored: list[tuple[int, str, dict[str, str]]] = []
        for table in tables:
            name = table.primary_name
            if not name:
                continue
            condition = " or ".join(f"contains({name},{quote_string(word)})" for word in words)
            with dataverse_errors(table=table.logical_name):
                page = await call.client.query(table.entity_set, select=[table.primary_id, name], filter=condition,
                                               page_size=MAX_RESULTS, annotations=False)
            for row in page.rows:
                title = str(row.get(name) or "")
                score = sum(word.lower() in title.lower() for word in words)
                record_id = str(row.get(table.primary_id, "")).lower()
                scored.append((score, title.lower(), {
                    "id": f"{table.logical_name}:{record_id}", "title": title,
                    "url": record_url(call.environment, table.logical_name, record_id)}))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [result for _, _, result in scored]


def render_record(row: dict[str, Any], metadata: TableMetadata) -> str:
    """A readable rendering: one 'Label: value' line per non-empty column, labels and lookup names as people see
    them (Dataverse's formatted values), the primary name first."""
    columns = columns_by_name(metadata)
    primary = metadata.table.primary_name
    lines: list[tuple[int, str]] = []
    for wire_name, value in row.items():
        if "@" in wire_name or value is None or value == "":
            continue
        name = lookup_key(wire_name)
        column = columns.get(name)
        if name in SKIPPED_COLUMNS or name == metadata.table.primary_id or column is None:
            continue
        shown = row.get(wire_name + FORMATTED, value)
        if column.type in ("Lookup", "Customer", "Owner") and wire_name + FORMATTED not in row:
            continue  # a bare GUID says nothing to a reader
        label = column.display_name or name
        lines.append((0 if name == primary else 1, f"{label}: {shown}"))
    lines.sort(key=lambda item: item[0])
    return "\n".join(line for _, line in lines)


def register_search_tools(server: MCPServer, runtime: ToolRuntime) -> SearchTools:
    """Add `search` and `fetch` (read-only), with the input schemas ChatGPT expects."""

    tools = SearchTools(runtime)
    single = len(runtime.environments) <= 1
    entries = {
        "search": ("Search records", tools.search,
                   "Find Dataverse records (accounts, contacts, opportunities, leads) by name or keywords, as the "
                   "signed-in user sees them. Returns ids, titles and links; use fetch with an id for the details."),
        "fetch": ("Fetch a record", tools.fetch,
                  "The full text of one record found with search, by its id ('<table>:<guid>'): its fields with "
                  "labels, and a link to open it in Dataverse."),
    }
    for name, (title, fn, description) in entries.items():
        server.add_tool(
            without_parameter(fn, "environment") if single else fn, name=name, title=title,
            description=description,
            annotations=ToolAnnotations(title=title, readOnlyHint=True, destructiveHint=False, idempotentHint=True,
                                        openWorldHint=False),
            structured_output=False,
        )
    return tools
