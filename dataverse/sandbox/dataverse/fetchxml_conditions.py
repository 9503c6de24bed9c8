"""FetchXML `<filter>`/`<condition>` evaluation: each condition operator as a test on one cell.

A joined record is `dict[alias, Row | None]`; a condition reads the row of its entity (or of its `entityname`).
Semantics (case-insensitive strings, SQL nulls, LIKE, relative dates in the caller's zone) come from odata_semantics,
so FetchXML and OData agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from dataverse.sandbox.dataverse.fetchxml_parse import ConditionSpec, FilterSpec, fetch_error
from dataverse.sandbox.dataverse.model import QueryContext, Row, Table
from dataverse.sandbox.dataverse.odata_semantics import (
    CALENDAR_OPERATORS,
    COUNTED_OPERATORS,
    DATE_VALUE_OPERATORS,
    STRING_TYPES,
    Truth,
    coerce_text,
    compare,
    like,
    like_regex,
    null_test,
    read_cell,
    relative_date_test,
)

Record = dict[str, Row | None]
RecordTest = Callable[[Record], Truth]
CellTest = Callable[[Any], Truth]
COMPARISONS = {"eq": "eq", "ne": "ne", "neq": "ne", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}
LIKE_SHAPES = {"like": "{}", "not-like": "{}", "begins-with": "{}%", "not-begin-with": "{}%", "ends-with": "%{}",
               "not-end-with": "%{}"}
USER_OPERATORS = frozenset({"eq-userid", "ne-userid", "eq-userteams", "eq-useroruserteams"})


def compile_filters(filters: list[FilterSpec], tables: dict[str, Table], ctx: QueryContext) -> RecordTest:
    """All of an entity's `<filter>` elements (they combine with 'and')."""
    tests = [compile_filter_spec(spec, tables, ctx) for spec in filters]
    return lambda record: _all(test(record) for test in tests)


def compile_filter_spec(spec: FilterSpec, tables: dict[str, Table], ctx: QueryContext) -> RecordTest:
    tests = [
        compile_filter_spec(item, tables, ctx) if isinstance(item, FilterSpec) else _condition(item, tables, ctx)
        for item in spec.items
    ]
    if spec.type == "or":
        return lambda record: _any(test(record) for test in tests) if tests else True
    return lambda record: _all(test(record) for test in tests)


def _condition(spec: ConditionSpec, tables: dict[str, Table], ctx: QueryContext) -> RecordTest:
    cell_test = condition_cell_test(spec, tables[spec.entity_alias], ctx)
    alias, column = spec.entity_alias, spec.column

    def test(record: Record) -> Truth:
        row = record.get(alias)
        return cell_test(read_cell(row, column) if row is not None else None)

    return test


def condition_cell_test(spec: ConditionSpec, table: Table, ctx: QueryContext) -> CellTest:
    operator, column = spec.operator, spec.column

    def typed(text: str) -> Any:
        return coerce_text(column, text, table=table.logical_name, ctx=ctx)

    def single() -> str:
        if spec.value is not None:
            return spec.value
        if len(spec.values) == 1:
            return spec.values[0]
        raise fetch_error(f"The condition operator '{operator}' on '{column.logical_name}' requires a value.")

    if operator in COMPARISONS:
        value = typed(single())
        op = COMPARISONS[operator]
        if column.date_only and isinstance(value, datetime):
            value = value.date()
        return lambda cell: compare(op, cell, value)
    if operator in ("null", "not-null"):
        op = "eq" if operator == "null" else "ne"
        return lambda cell: null_test(op, cell)
    if operator in LIKE_SHAPES:
        if column.type not in STRING_TYPES:
            raise fetch_error(f"The condition operator '{operator}' can only be used with text columns, not "
                              f"'{column.logical_name}'.")
        pattern = like_regex(LIKE_SHAPES[operator].format(single()))
        if operator.startswith("not"):
            return lambda cell: None if (hit := like(cell, pattern)) is None else not hit
        return lambda cell: like(cell, pattern)
    if operator in ("in", "not-in"):
        raw = spec.values or ([spec.value] if spec.value is not None else [])
        if not raw:
            raise fetch_error(f"The condition operator '{operator}' requires at least one <value> element.")
        items = [typed(text) for text in raw]
        if operator == "in":
            return lambda cell: None if cell is None else any(compare("eq", cell, item) is True for item in items)
        return lambda cell: None if cell is None else not any(compare("eq", cell, item) is True for item in items)
    if operator in ("between", "not-between"):
        if len(spec.values) != 2:
            raise fetch_error(f"The condition operator '{operator}' requires exactly two <value> elements.")
        low, high = (typed(text) for text in spec.values)

        def inside(cell: Any) -> Truth:
            if cell is None:
                return None
            lower, upper = compare("ge", cell, low), compare("le", cell, high)
            return None if lower is None or upper is None else lower and upper

        if operator == "between":
            return inside
        return lambda cell: None if (hit := inside(cell)) is None else not hit
    if operator in USER_OPERATORS:
        if not (column.is_lookup or column.type == "Uniqueidentifier"):
            raise fetch_error(f"The condition operator '{operator}' can only be used with lookup columns.")
        user, teams = ctx.user_id.lower(), {team.lower() for team in ctx.team_ids}
        allowed = {"eq-userid": {user}, "ne-userid": {user}, "eq-userteams": teams,
                   "eq-useroruserteams": {user} | teams}[operator]
        if operator == "ne-userid":
            return lambda cell: None if cell is None else cell not in allowed
        return lambda cell: None if cell is None else cell in allowed
    if operator in CALENDAR_OPERATORS:
        return relative_date_test(operator, column, ctx)
    if operator in COUNTED_OPERATORS:
        text = single().strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 6:
            raise fetch_error(f"The value '{text}' of the condition operator '{operator}' must be a whole number.")
        return relative_date_test(operator, column, ctx, count=int(text))
    if operator in DATE_VALUE_OPERATORS:
        value = typed(single()) if column.type == "DateTime" else None
        if isinstance(value, datetime):
            value = value.astimezone(ctx.user_timezone).date()
        if not isinstance(value, date):
            raise fetch_error(f"The condition operator '{operator}' can only be used with date and time columns.")
        return relative_date_test(operator, column, ctx, on=value)
    raise fetch_error(f"The condition operator '{operator}' is not valid or not supported by the sandbox Dataverse.")


def _all(results: Any) -> Truth:
    unknown = False
    for result in results:
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True


def _any(results: Any) -> Truth:
    unknown = False
    for result in results:
        if result is True:
            return True
        if result is None:
            unknown = True
    return None if unknown else False
