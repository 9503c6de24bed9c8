"""`$apply` on entity-set collections, in the simple forms Dataverse documents: an optional `filter(...)/` step, then
`groupby((a,b))`, `groupby((a),aggregate(...))` or `aggregate(...)`, where each aggregate is `x with
sum|average|min|max|countdistinct as alias` or `$count as alias`. Over 50,000 rows gives 0x8004E023."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.formatting import wire_value
from dataverse.sandbox.dataverse.model import Column, Row, SandboxError, Table
from dataverse.sandbox.dataverse.odata_query import BAD_QUERY, sort_rows, unknown_property

AGGREGATE_LIMIT = 50_000
_AGGREGATE = re.compile(r"^\s*(?:(\$count)|(\w+)\s+with\s+(sum|average|min|max|countdistinct))\s+as\s+(\w+)\s*$")


def _syntax(text: str) -> SandboxError:
    return SandboxError(400, BAD_QUERY, f"Syntax error in $apply '{text}'.")


def _column(table: Table, name: str) -> Column:
    column = table.column(name.strip())
    if column is None:
        raise unknown_property(table, name.strip())
    return column


def _aggregate(method: str, values: list[Any]) -> Any:
    present = [value for value in values if value is not None]
    if method == "countdistinct":
        return len({getattr(value, "id", value) for value in present})
    if not present:
        return None
    if method == "sum":
        return sum(present)
    if method == "average":
        return sum(present) / len(present)
    return min(present) if method == "min" else max(present)


def _parse_aggregates(table: Table, text: str) -> list[tuple[str, Column | None, str]]:
    specs: list[tuple[str, Column | None, str]] = []
    for part in text.split(","):
        match = _AGGREGATE.match(part)
        if match is None:
            raise _syntax(text)
        if match.group(1):
            specs.append(("count", None, match.group(4)))
        else:
            specs.append((match.group(3), _column(table, match.group(2)), match.group(4)))
    return specs


def run_apply(ctx: RequestContext, table: Table, options: dict[str, str], *, rows: list[Row] | None = None) -> Response:
    text = options["$apply"].strip()
    rows = ctx.dataset.rows(table.logical_name) if rows is None else rows
    filter_match = re.match(r"^filter\((.*?)\)/(.*)$", text, re.S)
    if filter_match:
        from dataverse.sandbox.dataverse.odata_filter import compile_filter

        predicate = compile_filter(filter_match.group(1), table, ctx.dataset, ctx.dataset.query_context())
        rows = [row for row in rows if predicate(row)]
        text = filter_match.group(2).strip()
    group_match = re.fullmatch(r"groupby\(\(([^)]*)\)(?:\s*,\s*aggregate\((.*)\))?\)", text, re.S)
    aggregate_match = re.fullmatch(r"aggregate\((.*)\)", text, re.S)
    if group_match:
        groups = [_column(table, name) for name in group_match.group(1).split(",")]
        specs = _parse_aggregates(table, group_match.group(2)) if group_match.group(2) else []
    elif aggregate_match:
        groups, specs = [], _parse_aggregates(table, aggregate_match.group(1))
    else:
        raise _syntax(text)
    if len(rows) > AGGREGATE_LIMIT:
        raise SandboxError(400, "0x8004E023", "AggregateQueryRecordLimit exceeded. Cannot perform this operation.")
    buckets: dict[tuple[Any, ...], list[Row]] = {}
    ordered = sort_rows(table, rows, [(column.logical_name, False) for column in groups])
    for row in ordered:
        buckets.setdefault(tuple(row.get(column.logical_name) for column in groups), []).append(row)
    if not groups:
        buckets = {(): rows}
    value = []
    for key, members in buckets.items():
        out: dict[str, Any] = {}
        for column, cell in zip(groups, key, strict=True):
            wire_key = f"_{column.logical_name}_value" if column.is_lookup else column.logical_name
            ctx.formatter.cell(out, wire_key, column, cell, table=table)
        for method, measured, alias in specs:
            if measured is None:
                out[alias] = len(members)
                continue
            result = _aggregate(method, [row.get(measured.logical_name) for row in members])
            out[alias] = wire_value(measured, result) if method != "countdistinct" else result
        value.append(out)
    names = [f"_{c.logical_name}_value" if c.is_lookup else c.logical_name for c in groups] + [s[2] for s in specs]
    return json_response({"@odata.context": ctx.context_url(f"{table.entity_set}({','.join(names)})"),
                          "value": value})
