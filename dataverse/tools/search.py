"""`search` and `fetch`, the two tools ChatGPT deep research and company knowledge look for, with exactly their
contract: `search(query)` answers one text item holding `{"results": [{"id", "title", "url"}]}`; `fetch(id)` answers
one text item holding `{"id", "title", "text", "url", "metadata"}`. Ids are `<table>:<guid>`; URLs open the record in
the Dataverse app (`main.aspx`).

`search` uses Dataverse search (the client's `search`) over settings.search_tables. Where the environment
has no Dataverse search (404/403/501; remembered for a while) or the query is shorter than search accepts, it falls
back to matching words in each table's primary name. Both paths act as the signed-in user and honour the table policy.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp.types import CallToolResult
from pydantic import Field

from dataverse.tools.kit.cache import TTLCache
from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.errors import (
    InvalidArgumentError,
    dataverse_errors,
    record_id_argument,
    translate_dataverse_error,
)
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.kit.results import text_result
from dataverse.tools.schema.lookup import get_table, list_tables, resolve_table
from dataverse.tools.schema.policy import table_allowed
from dataverse.tools.schema.selection import columns_by_name, is_business_column
from dataverse.tools.values.links import record_url
from dataverse.tools.values.shaping import FORMATTED, lookup_key
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.models import TableMetadata, TableSummary
from dataverse.webapi.odata import quote_string
from dataverse.webapi.search import is_search_unavailable

MAX_RESULTS = 20
MIN_SEARCH_LENGTH = 3  # Dataverse search refuses shorter terms
MAX_WORDS = 6
UNAVAILABLE_FOR_SECONDS = 600.0


def _words(query: str) -> list[str]:
    words = [word for word in re.split(r"[\s,;]+", query) if len(word.strip("\"'*")) >= 2]
    return [word.strip("\"'*") for word in words][:MAX_WORDS]


def setup(runtime: ToolRuntime) -> TTLCache:
    """Which environments have no Dataverse search, remembered for a while (UNAVAILABLE_FOR_SECONDS)."""
    return TTLCache(max_entries=64, clock=runtime.deps.clock)


group: ToolGroup[TTLCache] = ToolGroup("search", setup=setup)


@group.tool(title="Search records", annotations=READ_ONLY,
            description="Find records (accounts, contacts, opportunities, leads) by keywords: ids, titles, links.")
async def search(
    call: ToolCall,
    query: Annotated[str, Field(description="Keywords, e.g. 'Fabrikam renewal'.")],
) -> CallToolResult:
    unavailable = group.state(call)
    text = " ".join((query or "").split())
    if not _words(text):
        raise InvalidArgumentError("Pass a few words to search for, e.g. query='Contoso'.")
    tables = await _search_tables(call)
    results = None
    if len(text) >= MIN_SEARCH_LENGTH and call.environment not in unavailable:
        results = await _dataverse_search(call, text[:100], tables, unavailable)
    if results is None:
        results = await _name_search(call, text, tables)
    results = all_words_first(results, _words(text))[:MAX_RESULTS]
    if not results:
        searched = ", ".join(table.logical_name for table in tables) or "no table (the policy hides them all)"
        return text_result({"results": [], "note": (
            f"Nothing matched {text!r} in {searched}. Try fewer or shorter words, another spelling, or "
            "query_records with a filter on another column.")})
    return text_result({"results": results})


def all_words_first(results: list[dict[str, str]], words: list[str]) -> list[dict[str, str]]:
    """Results whose title holds every word first, then by how many words they hold; otherwise in the given order."""
    lowered = [word.lower() for word in words]

    def missing(result: dict[str, str]) -> int:
        title = result["title"].lower()
        return sum(word not in title for word in lowered)

    return sorted(results, key=missing)


@group.tool(title="Fetch a record", annotations=READ_ONLY,
            description="A search result's full text: its fields with labels, and a link.")
async def fetch(
    call: ToolCall,
    id: Annotated[str, Field(description="A search result id, '<table>:<guid>'.")],
) -> CallToolResult:
    table_name, _, raw_id = (id or "").strip().partition(":")
    if not raw_id:
        raise InvalidArgumentError(f"{id!r} is not a search result id; ids look like 'account:<guid>'.")
    record_id = record_id_argument(raw_id)
    summary = await resolve_table(call, table_name)
    metadata = await get_table(call, summary)
    with dataverse_errors(table=summary.logical_name, record_id=record_id):
        row = await call.client.retrieve(summary.entity_set, record_id)
    title = str(row.get(summary.primary_name or "") or f"{summary.display_name or summary.logical_name} record")
    return text_result({
        "id": f"{summary.logical_name}:{record_id}", "title": title, "text": render_record(row, metadata),
        "url": record_url(call, summary.logical_name, record_id),
        "metadata": {"table": summary.logical_name, "table_display_name": summary.display_name,
                     "environment": call.environment,
                     **({"modifiedon": row["modifiedon"]} if row.get("modifiedon") else {})},
    })


async def _search_tables(call: ToolCall) -> list[TableSummary]:
    """settings.search_tables that exist in the environment and that the policy allows, in the configured order."""
    wanted = [name.lower() for name in call.settings.search_tables if table_allowed(call.settings, name)]
    by_name = {table.logical_name: table for table in await list_tables(call)}
    return [by_name[name] for name in wanted if name in by_name]


async def _dataverse_search(call: ToolCall, text: str, tables: list[TableSummary],
                            unavailable: TTLCache) -> list[dict[str, str]] | None:
    """Results from Dataverse search, or None where the environment has none (then the fallback runs)."""
    if not tables:
        return []
    entities = [(t.logical_name, [t.primary_name]) for t in tables if t.primary_name]
    if not entities:
        return []
    try:
        hits = await call.client.search(text, entities=entities, top=MAX_RESULTS)
    except webapi_errors.DataverseError as error:
        if is_search_unavailable(error):
            unavailable.set(call.environment, True, ttl_seconds=UNAVAILABLE_FOR_SECONDS)
            return None
        if isinstance(error, webapi_errors.BadRequestError):
            return None  # a query Dataverse search will not take; the name match still can
        raise translate_dataverse_error(error) from error
    allowed = {t.logical_name: t for t in tables}
    results = []
    for hit in hits:
        table = allowed.get(hit.table)
        if table is None:
            continue  # never surface a table the policy hides, whatever search returns
        title = hit.attributes.get(table.primary_name or "") or f"{table.display_name or table.logical_name}"
        results.append({"id": f"{table.logical_name}:{hit.id}", "title": str(title),
                        "url": record_url(call, table.logical_name, hit.id)})
    return results


async def _name_search(call: ToolCall, text: str, tables: list[TableSummary]) -> list[dict[str, str]]:
    """Records whose primary name holds every word (asked for first, so a page of partial matches cannot crowd them
    out), then those holding any word, each group by name."""
    words = _words(text)
    joiners = ["and", "or"] if len(words) > 1 else ["and"]
    found: dict[str, tuple[int, str, dict[str, str]]] = {}
    for table in tables:
        name = table.primary_name
        if not name:
            continue
        for rank, joiner in enumerate(joiners):
            condition = f" {joiner} ".join(f"contains({name},{quote_string(word)})" for word in words)
            with dataverse_errors(table=table.logical_name):
                page = await call.client.query(table.entity_set, select=[table.primary_id, name], filter=condition,
                                               page_size=MAX_RESULTS, annotations=False)
            for row in page.rows:
                title = str(row.get(name) or "")
                record_id = str(row.get(table.primary_id, "")).lower()
                key = f"{table.logical_name}:{record_id}"
                found.setdefault(key, (rank, title.lower(), {
                    "id": key, "title": title, "url": record_url(call, table.logical_name, record_id)}))
    return [result for _, _, result in sorted(found.values(), key=lambda item: (item[0], item[1]))]


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
        if not is_business_column(name) or name == metadata.table.primary_id or column is None:
            continue
        shown = row.get(wire_name + FORMATTED, value)
        if column.type in ("Lookup", "Customer", "Owner") and wire_name + FORMATTED not in row:
            continue  # a bare GUID says nothing to a reader
        label = column.display_name or name
        lines.append((0 if name == primary else 1, f"{label}: {shown}"))
    lines.sort(key=lambda item: item[0])
    return "\n".join(line for _, line in lines)
