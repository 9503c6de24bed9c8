"""Rows to wire JSON: OData values, `_x_value` lookups, `@odata.etag`, and the annotations a `Prefer` header asks for
(FormattedValue for choices, booleans, lookups, money, numbers and dates in the user's time zone; lookuplogicalname
and associatednavigationproperty on lookups). Also parses the `Prefer` request header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from dataverse.sandbox.dataverse.model import Column, LookupValue, Row, Table

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
PAGING_COOKIE = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
MORE_RECORDS = "Microsoft.Dynamics.CRM.morerecords"
TOTAL_RECORD_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
MAX_PAGE_SIZE = 5000


def _preference_items(header: str) -> list[str]:
    """The `name[=value]` items of one Prefer header, split on `,` and `;` outside double quotes."""
    items, current, quoted = [], "", False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char in ",;" and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item.strip() for item in items if item.strip()]


@dataclass(frozen=True)
class Preferences:
    """What the client's `Prefer` header asked for."""

    annotations: tuple[str, ...] = ()
    max_page_size: int | None = None
    return_representation: bool = False

    @classmethod
    def from_headers(cls, values: Iterable[str]) -> Preferences:
        """Preferences from every `Prefer` header; `,` and `;` both separate them, as Dataverse's documented
        requests write `Prefer: odata.maxpagesize=4; odata.include-annotations="*"` (web-api-query-data-sample.md)."""
        annotations: list[str] = []
        max_page_size: int | None = None
        representation = False
        for header in values:
            for item in _preference_items(header):
                name, _, raw = item.partition("=")
                name, value = name.strip(), raw.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                if name == "odata.include-annotations":
                    annotations.extend(part.strip() for part in value.split(",") if part.strip())
                elif name == "odata.maxpagesize" and value.isdigit() and int(value) > 0:
                    max_page_size = min(int(value), MAX_PAGE_SIZE)
                elif name == "return" and value == "representation":
                    representation = True
        return cls(tuple(annotations), max_page_size, representation)

    def wants(self, annotation: str) -> bool:
        """Whether `annotation` matches one of the requested patterns ("*", "Namespace.*" or an exact name)."""
        for pattern in self.annotations:
            if pattern.startswith("-"):
                continue
            if pattern in ("*", annotation):
                return True
            if pattern.endswith(".*") and annotation.startswith(pattern[:-1]):
                return True
        return False

    def applied(self, *, page_size_used: bool) -> str | None:
        """The `Preference-Applied` header value, or None when nothing was applied."""
        parts = []
        if self.annotations:
            parts.append(f'odata.include-annotations="{",".join(self.annotations)}"')
        if page_size_used and self.max_page_size:
            parts.append(f"odata.maxpagesize={self.max_page_size}")
        return ",".join(parts) or None


@dataclass(frozen=True)
class Formatter:
    """Turns rows into wire dicts for one caller: their annotation preferences and time zone."""

    preferences: Preferences
    timezone: tzinfo
    name_of: Callable[[LookupValue], str | None]
    navigation_of: Callable[[Table, str, LookupValue], str | None]

    def row(self, table: Table, row: Row, columns: Iterable[str], *, include_nulls: bool = True,
            etag: bool = True) -> dict[str, Any]:
        """The wire shape of `row` with the given columns (logical names) and the primary id."""
        out: dict[str, Any] = {}
        if etag and row.get("versionnumber") is not None:
            out["@odata.etag"] = f'W/"{row["versionnumber"]}"'
        names = list(columns)
        if table.primary_id not in names:
            names.append(table.primary_id)
        for name in names:
            column = table.columns[name]
            value = row.get(name)
            if value is None and not include_nulls:
                continue
            key = f"_{name}_value" if column.is_lookup else name
            self.cell(out, key, column, value, table=table)
        return out

    def cell(self, out: dict[str, Any], key: str, column: Column, value: Any, *, table: Table | None) -> None:
        """Write one value and its annotations into `out` under `key`."""
        if value is None:
            out[key] = None
            return
        if isinstance(value, LookupValue):
            if self.preferences.wants(FORMATTED):
                name = self.name_of(value)
                if name is not None:
                    out[f"{key}@{FORMATTED}"] = name
            if table is not None and self.preferences.wants(ASSOCIATED_NAVIGATION):
                navigation = self.navigation_of(table, column.logical_name, value)
                if navigation:
                    out[f"{key}@{ASSOCIATED_NAVIGATION}"] = navigation
            if self.preferences.wants(LOOKUP_LOGICAL_NAME):
                out[f"{key}@{LOOKUP_LOGICAL_NAME}"] = value.table
            out[key] = value.id
            return
        if self.preferences.wants(FORMATTED):
            formatted = self.formatted_value(column, value)
            if formatted is not None:
                out[f"{key}@{FORMATTED}"] = formatted
        out[key] = wire_value(column, value)

    def formatted_value(self, column: Column, value: Any) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and column.type in (
                "Uniqueidentifier", "String", "Memo", "Lookup", "Customer", "Owner"):
            return f"{value:,}"  # an aggregate (count) over a non-numeric column
        if column.type == "Boolean":
            return column.option_label(1 if value else 0)
        if column.is_choice:
            return column.option_label(int(value))
        if column.type == "Money":
            return format_money(float(value))
        if column.type in ("Integer", "BigInt") and column.logical_name != "versionnumber":
            return f"{int(value):,}"
        if column.type in ("Decimal", "Double"):
            return f"{float(value):,.2f}"
        if column.type == "DateTime":
            if not isinstance(value, date):
                return str(value)
            if isinstance(value, datetime) and not column.date_only:
                local = value.astimezone(self.timezone)
                return f"{local.month}/{local.day}/{local.year} {local.strftime('%I:%M %p').lstrip('0')}"
            day = value.date() if isinstance(value, datetime) else value
            return f"{day.month}/{day.day}/{day.year}"
        return None


def format_money(amount: float) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def wire_value(column: Column | None, value: Any) -> Any:
    """A Python-native cell value as JSON: datetimes as UTC ISO with Z, date-only columns as yyyy-mm-dd."""
    if isinstance(value, LookupValue):
        return value.id
    if isinstance(value, datetime):
        if column is not None and column.date_only:
            return value.date().isoformat()
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if column is not None and column.type in ("Integer", "BigInt") and isinstance(value, float):
        return int(value)
    return value

