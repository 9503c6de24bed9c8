"""Condition semantics shared by the sandbox's two query engines (OData $filter and FetchXML).

Owns what a comparison means in Dataverse: case-insensitive strings, choices by integer value, lookups by id, SQL-style
nulls (a comparison with a null cell is unknown, so `ne` never matches null), LIKE wildcards (`%`, `_`, `[...]`), and
the relative-date operators, evaluated in the caller's time zone except on date-only columns, where the date itself is
compared. Nothing here reads the wall clock: `now` always comes from the QueryContext.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dataverse.sandbox.dataverse.model import Column, LookupValue, QueryContext, Row, SandboxError

INVALID_ARGUMENT = "0x80040203"
NUMERIC_TYPES = frozenset({"Integer", "BigInt", "Money", "Decimal", "Double", "Picklist", "State", "Status"})
INTEGER_TYPES = frozenset({"Integer", "BigInt", "Picklist", "State", "Status"})
STRING_TYPES = frozenset({"String", "Memo", "EntityName"})
GUID_TYPES = frozenset({"Uniqueidentifier", "Lookup", "Customer", "Owner"})
GUID_PATTERN = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")

Truth = bool | None  # None is SQL's "unknown": the row is not returned


def read_cell(row: Row | None, column: Column) -> Any:
    """The comparable value of a cell: a lookup becomes its referenced id; missing means None."""
    if row is None:
        return None
    value = row.get(column.logical_name)
    if isinstance(value, LookupValue):
        return value.id.lower()
    if isinstance(value, str) and column.type == "Uniqueidentifier":
        return value.lower()
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _align(left: Any, right: Any) -> tuple[Any, Any]:
    """Bring a date and a datetime to one type: a date against a datetime means midnight UTC of that date."""
    if isinstance(left, datetime) and not isinstance(right, datetime) and isinstance(right, date):
        return left, datetime.combine(right, time(), UTC)
    if isinstance(right, datetime) and not isinstance(left, datetime) and isinstance(left, date):
        return datetime.combine(left, time(), UTC), right
    return left, right


def compare(operator: str, left: Any, right: Any) -> Truth:
    """`left <operator> right` with Dataverse semantics; `operator` is one of eq ne gt ge lt le.

    A null on either side makes the comparison unknown (as SQL); comparisons with a null literal use null_test.
    """
    if left is None or right is None:
        return None
    left, right = _align(_comparable(left), _comparable(right))
    try:
        if operator == "eq":
            return bool(left == right)
        if operator == "ne":
            return bool(left != right)
        if operator == "gt":
            return bool(left > right)
        if operator == "ge":
            return bool(left >= right)
        if operator == "lt":
            return bool(left < right)
        if operator == "le":
            return bool(left <= right)
    except TypeError:
        return None
    raise SandboxError(400, INVALID_ARGUMENT, f"The operator '{operator}' is not supported.")


def null_test(operator: str, value: Any) -> Truth:
    """`value eq null` / `value ne null`: IS NULL / IS NOT NULL; ordering against null is unknown."""
    if operator == "eq":
        return value is None
    if operator == "ne":
        return value is not None
    return None


def like_regex(pattern: str) -> re.Pattern[str]:
    """The T-SQL LIKE pattern as a case-insensitive regular expression: % any run, _ one char, [set] and [^set]."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char == "[":
            close = pattern.find("]", index + 2)
            if close == -1:
                parts.append(re.escape(char))
            else:
                body = pattern[index + 1 : close]
                negate = body.startswith("^")
                members = body[1:] if negate else body
                escaped = "".join("-" if c == "-" and 0 < i < len(members) - 1 else re.escape(c)
                                  for i, c in enumerate(members))
                parts.append(f"[{'^' if negate else ''}{escaped}]")
                index = close
        else:
            parts.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE | re.DOTALL)


def like(value: Any, pattern: re.Pattern[str]) -> Truth:
    if value is None:
        return None
    return pattern.fullmatch(str(value)) is not None


def parse_guid(text: str) -> str:
    match = GUID_PATTERN.match(text.strip())
    if not match:
        raise SandboxError(400, INVALID_ARGUMENT, "Guid should contain 32 digits with 4 dashes "
                                                  f"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx). Value: '{text}'.")
    return match.group(1).lower()


def parse_datetime_text(text: str, *, assume: tzinfo) -> datetime | date:
    """An ISO date (returned as a date) or datetime; a datetime without offset is read in `assume`'s zone."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SandboxError(
            400, INVALID_ARGUMENT,
            f"The date-time format for {text} is invalid, or value is outside the supported range.",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume)
    return parsed.astimezone(UTC)


def coerce_text(column: Column, text: str, *, table: str, ctx: QueryContext) -> Any:
    """A FetchXML condition value (always text) as the Python value of the column's type."""
    kind = column.type
    try:
        if kind in INTEGER_TYPES:
            return int(text.strip())
        if kind in NUMERIC_TYPES:
            return float(text.strip())
        if kind == "Boolean":
            lowered = text.strip().lower()
            if lowered in ("1", "true"):
                return True
            if lowered in ("0", "false"):
                return False
            raise ValueError(text)
    except ValueError:
        number = "System.Int32" if kind in INTEGER_TYPES else "System.Decimal"
        expected = {"Boolean": "System.Boolean"}.get(kind, number)
        raise SandboxError(
            400,
            INVALID_ARGUMENT,
            f"An exception System.FormatException was thrown while trying to convert input value '{text}' to attribute "
            f"'{table}.{column.logical_name}'. Expected type of attribute value: {expected}.",
        ) from None
    if kind == "DateTime":
        value = parse_datetime_text(text, assume=ctx.user_timezone)
        if column.date_only:
            return value.astimezone(ctx.user_timezone).date() if isinstance(value, datetime) else value
        if not isinstance(value, datetime):  # a bare date on a date-time column: midnight in the caller's zone
            return datetime.combine(value, time(), ctx.user_timezone).astimezone(UTC)
        return value
    if kind in GUID_TYPES:
        return parse_guid(text)
    return text


# ---- relative dates -------------------------------------------------------------------------------------------------

def local_date(value: Any, column: Column, tz: tzinfo) -> date | None:
    """The calendar date of a cell: a date-only cell as stored, a datetime in the caller's zone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.date() if column.date_only else aware.astimezone(tz).date()
    if isinstance(value, date):
        return value
    return None


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    if not 1 <= year <= 9999:
        raise SandboxError(400, INVALID_ARGUMENT, "The date is outside the supported range.")
    month += 1
    last_day = 31
    while True:
        try:
            return date(year, month, min(day.day, last_day))
        except ValueError:
            last_day -= 1


def _week_start(day: date) -> date:
    return day - timedelta(days=(day.weekday() + 1) % 7)  # weeks start on Sunday, as Dataverse's default


def _calendar_range(operator: str, today: date) -> tuple[date, date] | None:
    """Half-open [start, end) local-date ranges of the calendar operators."""
    month = today.replace(day=1)
    week = _week_start(today)
    year = today.replace(month=1, day=1)
    ranges: dict[str, Callable[[], tuple[date, date]]] = {
        "today": lambda: (today, today + timedelta(days=1)),
        "yesterday": lambda: (today - timedelta(days=1), today),
        "tomorrow": lambda: (today + timedelta(days=1), today + timedelta(days=2)),
        "this-week": lambda: (week, week + timedelta(days=7)),
        "last-week": lambda: (week - timedelta(days=7), week),
        "next-week": lambda: (week + timedelta(days=7), week + timedelta(days=14)),
        "this-month": lambda: (month, _add_months(month, 1)),
        "last-month": lambda: (_add_months(month, -1), month),
        "next-month": lambda: (_add_months(month, 1), _add_months(month, 2)),
        "this-year": lambda: (year, _add_months(year, 12)),
        "last-year": lambda: (_add_months(year, -12), year),
        "next-year": lambda: (_add_months(year, 12), _add_months(year, 24)),
    }
    build = ranges.get(operator)
    return build() if build else None


CALENDAR_OPERATORS = frozenset(
    {"today", "yesterday", "tomorrow", "this-week", "last-week", "next-week", "this-month", "last-month",
     "next-month", "this-year", "last-year", "next-year", "last-seven-days", "next-seven-days"}
)
COUNTED_OPERATORS = frozenset(
    {"last-x-days", "next-x-days", "older-x-days", "last-x-hours", "next-x-hours", "last-x-weeks", "next-x-weeks",
     "last-x-months", "next-x-months", "last-x-years", "next-x-years", "older-x-months", "older-x-years",
     "older-x-weeks"}
)
DATE_VALUE_OPERATORS = frozenset({"on", "on-or-after", "on-or-before"})
HOUR_OPERATORS = frozenset({"last-x-hours", "next-x-hours"})


def _shift(today: date, unit: str, amount: int) -> date:
    try:
        if unit == "days":
            return today + timedelta(days=amount)
        if unit == "weeks":
            return today + timedelta(days=7 * amount)
        if unit == "months":
            return _add_months(today, amount)
        return _add_months(today, 12 * amount)
    except OverflowError:
        raise SandboxError(400, INVALID_ARGUMENT, "The date is outside the supported range.") from None


def relative_date_test(operator: str, column: Column, ctx: QueryContext, *, count: int | None = None,
                       on: date | None = None) -> Callable[[Any], Truth]:
    """A predicate on a cell for a relative-date operator (FetchXML spelling, e.g. 'last-x-days')."""
    if column.type != "DateTime":
        raise SandboxError(400, INVALID_ARGUMENT,
                           f"The operator '{operator}' can only be used with date and time columns, "
                           f"not '{column.logical_name}'.")
    tz = ctx.user_timezone
    now = ctx.now.astimezone(UTC)
    today = now.astimezone(tz).date()

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(), tz).astimezone(UTC)

    if operator in DATE_VALUE_OPERATORS:
        assert on is not None
        day = on
        checks: dict[str, Callable[[date], bool]] = {
            "on": lambda d: d == day, "on-or-after": lambda d: d >= day, "on-or-before": lambda d: d <= day}
        check = checks[operator]
        return lambda value: None if (d := local_date(value, column, tz)) is None else check(d)
    if operator in ("last-seven-days", "next-seven-days"):
        operator, count = operator.replace("seven", "x"), 7
    span = _calendar_range(operator, today)
    if span is not None:
        first, end = span
        return lambda value: None if (d := local_date(value, column, tz)) is None else first <= d < end
    if operator not in COUNTED_OPERATORS or count is None:
        raise SandboxError(400, INVALID_ARGUMENT, f"The operator '{operator}' is not supported.")
    if count < 0:
        raise SandboxError(400, INVALID_ARGUMENT, f"The value for operator '{operator}' must be a positive integer.")
    direction, _, unit = operator.split("-", 2)
    unit = unit.removeprefix("x-")
    if operator in HOUR_OPERATORS:
        if column.date_only:
            raise SandboxError(400, INVALID_ARGUMENT, f"The operator '{operator}' can't be used on the DateOnly "
                                                      f"column '{column.logical_name}'.")
        low, high = (now - timedelta(hours=count), now) if direction == "last" else (now, now + timedelta(hours=count))
        return lambda value: None if value is None else low <= _as_utc(value) <= high
    if direction == "older":
        limit = _shift(today, unit, -count)
        if column.date_only:
            return lambda value: None if (d := local_date(value, column, tz)) is None else d < limit
        boundary = start_of(limit)
        return lambda value: None if value is None else _as_utc(value) < boundary
    if direction == "last":
        first_day, last_day = _shift(today, unit, -count), today
    else:
        first_day, last_day = today, _shift(today, unit, count)
    if column.date_only:
        return lambda value: None if (d := local_date(value, column, tz)) is None else first_day <= d <= last_day
    low = start_of(first_day) if direction == "last" else now
    high = now if direction == "last" else start_of(last_day + timedelta(days=1))
    return lambda value: None if value is None else (low <= _as_utc(value) <= high if direction == "last"
                                                     else low <= _as_utc(value) < high)


def _as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    raise SandboxError(400, INVALID_ARGUMENT, "A date value was expected.")
