"""The `Microsoft.Dynamics.CRM.*` query functions of the sandbox's OData `$filter` engine.

Each function names its column with `PropertyName` (the logical name; the `_x_value` spelling of a lookup is also
accepted) and takes `PropertyValue` or `PropertyValues` where it needs them. Relative dates are delegated to
odata_semantics so FetchXML and OData agree on every boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from dataverse.sandbox.dataverse.model import Column, QueryContext, Row, SandboxError, Table
from dataverse.sandbox.dataverse.odata_lexer import query_error
from dataverse.sandbox.dataverse.odata_semantics import (
    Truth,
    coerce_text,
    compare,
    read_cell,
    relative_date_test,
)

PREFIX = "Microsoft.Dynamics.CRM."
DATE_FUNCTIONS = {
    "Today": "today", "Yesterday": "yesterday", "Tomorrow": "tomorrow", "ThisWeek": "this-week",
    "LastWeek": "last-week", "NextWeek": "next-week", "ThisMonth": "this-month", "LastMonth": "last-month",
    "NextMonth": "next-month", "ThisYear": "this-year", "LastYear": "last-year", "NextYear": "next-year",
    "Last7Days": "last-seven-days", "Next7Days": "next-seven-days",
}
COUNTED_FUNCTIONS = {
    "LastXDays": "last-x-days", "NextXDays": "next-x-days", "OlderThanXDays": "older-x-days",
    "LastXHours": "last-x-hours", "NextXHours": "next-x-hours", "LastXWeeks": "last-x-weeks",
    "NextXWeeks": "next-x-weeks", "LastXMonths": "last-x-months", "NextXMonths": "next-x-months",
    "LastXYears": "last-x-years", "NextXYears": "next-x-years", "OlderThanXMonths": "older-x-months",
    "OlderThanXYears": "older-x-years", "OlderThanXWeeks": "older-x-weeks",
}
ON_FUNCTIONS = {"On": "on", "OnOrAfter": "on-or-after", "OnOrBefore": "on-or-before"}
USER_FUNCTIONS = ("EqualUserId", "NotEqualUserId", "EqualUserOrUserTeams", "EqualUserTeams")
KNOWN_UNSUPPORTED = frozenset({
    "InFiscalPeriod", "InFiscalPeriodAndYear", "InFiscalYear", "InOrAfterFiscalPeriodAndYear",
    "InOrBeforeFiscalPeriodAndYear", "LastFiscalPeriod", "LastFiscalYear", "LastXFiscalPeriods", "LastXFiscalYears",
    "NextFiscalPeriod", "NextFiscalYear", "NextXFiscalPeriods", "NextXFiscalYears", "OlderThanXHours",
    "OlderThanXMinutes", "ThisFiscalPeriod", "ThisFiscalYear", "EqualBusinessId", "NotEqualBusinessId", "Above",
    "AboveOrEqual", "EqualUserOrUserHierarchy", "EqualUserOrUserHierarchyAndTeams", "NotUnder", "Under",
    "UnderOrEqual", "ContainValues", "DoesNotContainValues", "EqualUserLanguage", "Contains", "DoesNotContain",
})

RowTest = Callable[[Row | None], Truth]


def compile_query_function(name: str, arguments: dict[str, Any], table: Table, ctx: QueryContext) -> RowTest:
    """The row test of `Microsoft.Dynamics.CRM.<Function>(PropertyName=..., ...)` on `table`."""
    short = name.removeprefix(PREFIX)
    known = (short in DATE_FUNCTIONS or short in COUNTED_FUNCTIONS or short in ON_FUNCTIONS or short in USER_FUNCTIONS
             or short in ("Between", "NotBetween", "In", "NotIn"))
    if not known:
        if short in KNOWN_UNSUPPORTED:
            raise query_error(f"The query function '{name}' is not supported by the sandbox Dataverse.")
        raise query_error(f"An unknown function with name '{name}' was found. This may also be a function import or "
                          f"a key lookup on a navigation property, which is not allowed.")
    column = _property(arguments, table, name)
    if short in DATE_FUNCTIONS:
        _expect(arguments, name, set())
        return _on_cell(column, relative_date_test(DATE_FUNCTIONS[short], column, ctx))
    if short in COUNTED_FUNCTIONS:
        _expect(arguments, name, {"PropertyValue"})
        count = _integer(arguments["PropertyValue"], name)
        return _on_cell(column, relative_date_test(COUNTED_FUNCTIONS[short], column, ctx, count=count))
    if short in ON_FUNCTIONS:
        _expect(arguments, name, {"PropertyValue"})
        day = _date(arguments["PropertyValue"], column, table, ctx)
        return _on_cell(column, relative_date_test(ON_FUNCTIONS[short], column, ctx, on=day))
    if short in USER_FUNCTIONS:
        _expect(arguments, name, set())
        return _user_test(short, column, ctx)
    _expect(arguments, name, {"PropertyValues"})
    values = arguments["PropertyValues"]
    if not isinstance(values, list) or not values:
        raise query_error(f"The function '{name}' requires a non-empty PropertyValues array.")
    typed = [_typed(value, column, table, ctx) for value in values]
    if short in ("Between", "NotBetween"):
        if len(typed) != 2:
            raise query_error(f"The function '{name}' requires exactly two PropertyValues.")
        low, high = typed
        inside = _on_cell(column, lambda v: _and(compare("ge", v, low), compare("le", v, high)))
        if short == "Between":
            return inside
        return lambda row: None if (r := inside(row)) is None else not r
    hit = _on_cell(column, lambda v: None if v is None else any(compare("eq", v, item) is True for item in typed))
    if short == "In":
        return hit
    return lambda row: None if (r := hit(row)) is None else not r


def _property(arguments: dict[str, Any], table: Table, name: str) -> Column:
    prop = arguments.get("PropertyName")
    if not isinstance(prop, str):
        raise query_error(f"The function '{name}' requires a PropertyName parameter naming a column, in quotes.")
    column = table.column(prop)
    if column is None:
        raise query_error(
            f"Could not find a property named '{prop}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
        )
    return column


def _expect(arguments: dict[str, Any], name: str, extra: set[str]) -> None:
    allowed = {"PropertyName", *extra}
    unknown = set(arguments) - allowed
    missing = allowed - set(arguments)
    if unknown:
        raise query_error(f"The function '{name}' has no parameter named '{sorted(unknown)[0]}'.")
    if missing:
        raise query_error(f"The function '{name}' requires the parameter '{sorted(missing)[0]}'.")


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise query_error(f"The PropertyValue of '{name}' must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        return int(value)
    raise query_error(f"The PropertyValue of '{name}' must be an integer.")


def _date(value: Any, column: Column, table: Table, ctx: QueryContext) -> date:
    if isinstance(value, datetime):
        return value.astimezone(ctx.user_timezone).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        parsed = coerce_text(column, value, table=table.logical_name, ctx=ctx) if column.type == "DateTime" else None
        if isinstance(parsed, datetime):
            return parsed.astimezone(ctx.user_timezone).date()
        if isinstance(parsed, date):
            return parsed
    raise query_error(f"The PropertyValue '{value}' is not a valid date for '{column.logical_name}'.")


def _typed(value: Any, column: Column, table: Table, ctx: QueryContext) -> Any:
    """A PropertyValues item as the column's Python type (items arrive as JSON strings or numbers)."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, (datetime, date)):
        return value
    if value is None or not isinstance(value, str):
        raise query_error(f"The value '{value}' is not valid for '{column.logical_name}'.")
    try:
        return coerce_text(column, value, table=table.logical_name, ctx=ctx)
    except SandboxError as error:  # re-shaped with the OData error code
        raise query_error(error.message) from None


def _user_test(short: str, column: Column, ctx: QueryContext) -> RowTest:
    if column.type not in ("Lookup", "Owner", "Customer", "Uniqueidentifier"):
        raise query_error(f"The function '{short}' can only be used with lookup columns, not '{column.logical_name}'.")
    user = ctx.user_id.lower()
    teams = {team.lower() for team in ctx.team_ids}
    allowed = {"EqualUserId": {user}, "NotEqualUserId": {user}, "EqualUserOrUserTeams": {user} | teams,
               "EqualUserTeams": teams}[short]
    if short == "NotEqualUserId":
        return _on_cell(column, lambda v: None if v is None else v not in allowed)
    return _on_cell(column, lambda v: None if v is None else v in allowed)


def _on_cell(column: Column, test: Callable[[Any], Truth]) -> RowTest:
    def run(row: Row | None) -> Truth:
        if row is None:
            return None
        return test(read_cell(row, column))

    return run


def _and(left: Truth, right: Truth) -> Truth:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True
