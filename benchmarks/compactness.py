"""Compactness: bytes per row of query_records output against the raw OData JSON (all annotations) for the same rows,
fetched straight from the same sandbox. Both sides are re-serialised the same way (compact JSON, UTF-8)."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.apps import create_direct_client, create_full_app, mcp_headers, serving, tool_payload, tools_call_body

QUERIES = {
    "opportunity": ["name", "estimatedvalue", "estimatedclosedate", "customerid", "ownerid", "statecode",
                    "closeprobability"],
    "account": ["name", "telephone1", "address1_city", "primarycontactid", "ownerid", "statecode", "revenue"],
    "contact": ["fullname", "emailaddress1", "parentcustomerid", "ownerid", "createdon"],
}
ROWS = 50


def _size(rows: list[dict[str, Any]]) -> int:
    return sum(len(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode()) for row in rows)


async def measure_compactness() -> dict[str, Any]:
    full = create_full_app()
    tables: dict[str, Any] = {}
    async with serving(full.app) as client:
        headers = mcp_headers(await full.sign_in(client))

        direct = create_direct_client(full)
        metadata = {}
        for table in QUERIES:
            summaries = {s.logical_name: s for s in await direct.list_tables()}
            metadata[table] = summaries[table].entity_set
        for table, columns in QUERIES.items():
            body = tools_call_body("query_records", {"table": table, "select": columns, "top": ROWS})
            shaped = tool_payload(await client.post("/mcp", content=body, headers=headers))["rows"]
            raw = (await direct.query(metadata[table], select=_wire_columns(columns), page_size=ROWS)).rows
            if len(raw) != len(shaped) or not shaped:
                raise RuntimeError(f"{table}: {len(shaped)} shaped rows vs {len(raw)} raw rows")
            tables[table] = {
                "rows": len(shaped),
                "output_bytes_per_row": _size(shaped) / len(shaped),
                "odata_bytes_per_row": _size(raw) / len(raw),
            }
    for entry in tables.values():
        entry["ratio"] = entry["output_bytes_per_row"] / entry["odata_bytes_per_row"]
    output = sum(e["output_bytes_per_row"] * e["rows"] for e in tables.values())
    odata = sum(e["odata_bytes_per_row"] * e["rows"] for e in tables.values())
    return {"tables": tables, "ratio": output / odata}


def _wire_columns(columns: list[str]) -> list[str]:
    """The columns as the Web API names them: lookups as _x_value (what query_records sends for them)."""
    lookups = {"customerid", "ownerid", "primarycontactid", "parentcustomerid"}
    return [f"_{column}_value" if column in lookups else column for column in columns]
