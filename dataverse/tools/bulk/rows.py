"""The rows of a bulk change, understood before anything is sent: each converted as create_record or update_record
converts values (values/write_body.py), and for an update the records' current values and ETags, read in a few
queries (to show before -> after and to make the confirmed change conditional)."""

from __future__ import annotations

from typing import Any, Literal

from dataverse.tools.confirm.proposals import BulkRow
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import DataverseToolError, InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.values.write_body import write_body
from dataverse.webapi.models import TableMetadata

MAX_ROWS = 1000
IDS_PER_QUERY = 50


class BulkRowError(Exception):
    """One row cannot be understood; the message names the row."""


def check_row_count(rows: list[dict[str, Any]]) -> None:
    if not rows:
        raise InvalidArgumentError("Pass `rows`: at least one row.")
    if len(rows) > MAX_ROWS:
        raise InvalidArgumentError(f"At most {MAX_ROWS} rows a call ({len(rows)} given); split them into several "
                                   "calls. Nothing was changed.")


async def converted_rows(call: ToolCall, metadata: TableMetadata, rows: list[dict[str, Any]],
                         operation: Literal["create", "update"]) -> list[BulkRow]:
    """Each row as the Web API body to send (and, for an update, its record id)."""
    converted = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise BulkRowError(f"Row {number} is not an object.")
        try:
            if operation == "update":
                extra = set(row) - {"id", "values"}
                if extra or "id" not in row or not isinstance(row.get("values"), dict):
                    raise InvalidArgumentError("an update row is {\"id\": \"<guid>\", \"values\": {...}}")
                record_id = record_id_argument(str(row["id"]))
                body, _ = await write_body(call, metadata, row["values"], operation="update", record_id=record_id)
                converted.append(BulkRow(id=record_id, body=body))
            else:
                body, _ = await write_body(call, metadata, row, operation="create", record_id=None)
                converted.append(BulkRow(body=body))
        except DataverseToolError as error:
            raise BulkRowError(f"Row {number}: {_without_prefix(str(error))}") from None
    ids = [row.id for row in converted if row.id]
    if len(ids) != len(set(ids)):
        raise BulkRowError("The same record appears in more than one row; give each record once.")
    return converted


async def before_and_etags(call: ToolCall, metadata: TableMetadata, rows: list[BulkRow]) -> dict[str, dict[str, Any]]:
    """{id: {"row": its current raw row, "etag": its ETag}} for the records the update names (those the user can
    see); a few queries of IDS_PER_QUERY ids each."""
    summary = metadata.table
    found: dict[str, dict[str, Any]] = {}
    ids = [row.id for row in rows if row.id]
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start:start + IDS_PER_QUERY]
        condition = " or ".join(f"{summary.primary_id} eq {record_id}" for record_id in chunk)
        with dataverse_errors(table=summary.logical_name):
            page = await call.client.query(summary.entity_set, filter=condition, page_size=IDS_PER_QUERY)
        for raw in page.rows:
            record_id = str(raw.get(summary.primary_id, "")).lower()
            found[record_id] = {"row": raw, "etag": raw.get("@odata.etag")}
    return found


def _without_prefix(message: str) -> str:
    return message.split(": ", 1)[1] if message.startswith("Error executing tool") else message
