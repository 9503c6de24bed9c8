"""Turns raw Dataverse rows (OData or FetchXML, with annotations) into compact JSON a model reads well.

Rules, chosen for a model's context window and for correctness:
- OData noise goes: `@odata.etag`, `@odata.context`, every `...@OData.*`/`...@Microsoft.Dynamics.CRM.*` annotation.
- Null columns are dropped (a missing column means null); results say so in the tool descriptions.
- Lookups `_x_value` become `"x": {"table": "account", "id": "<guid>", "name": "Contoso"}` under the logical name.
- Choices (picklist/state/status) become `{"value": 1, "label": "In Progress"}`; multi-select choices a list of them.
- Money, decimals, integers and booleans stay plain JSON numbers/booleans; their formatted strings ("$20,000.00",
  "1,250", "Yes") are dropped: the number is exact, the currency is the row's own transactioncurrencyid lookup, and
  the model formats numbers for people better than a locale string it would have to parse back.
- Dates stay ISO 8601. Date-only values ("2026-11-30") need nothing more. A date-time comes from Dataverse in UTC
  with its user-time-zone rendering beside it; the two together give the user's UTC offset at that instant, so the
  value is sent once, as ISO 8601 in the user's zone: "2026-11-02T19:30:00-05:00". One string carries both the exact
  instant and the wall time the user sees ("7:30 PM on the 2nd", not the 3rd as in UTC), which is what a model needs
  to answer "when" questions, in fewer bytes than two strings. If the rendering cannot be read (an unusual locale),
  the UTC value is kept and the rendering is added as `"<column>_local"`.
- Expanded records are shaped the same way, recursively, under the navigation property; when that is also a selected
  lookup's name the record goes under the lookup's "expanded" key. An expanded collection that Dataverse cut at its
  page (a next link with a skip token, which happens with nested $expand) is marked `"<navigation>_more": true`, so
  a model knows there are more; other collection next links carry nothing and are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
NEXT_LINK = "@odata.nextLink"
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
CHOICE_TYPES = frozenset({"Picklist", "State", "Status"})
MULTI_CHOICE_TYPES = frozenset({"MultiSelectPicklist", "MultiSelectPicklistType"})
LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})

_DATE_TIME_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$")
_LOCAL_FORMATS = ("%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M",
                  "%d/%m/%Y %I:%M %p")
_NUMBER_LIKE = re.compile(r"^[^\w]*[\d\s.,'\u00a0\u202f-]+[^\w]*$")


class ColumnInfo(Protocol):
    """What shaping needs to know about a column (webapi's ColumnMetadata satisfies it)."""

    @property
    def type(self) -> str: ...

    @property
    def targets(self) -> list[str] | None: ...


def lookup_key(wire_name: str) -> str:
    """`_customerid_value` -> `customerid`; other names unchanged."""
    if wire_name.startswith("_") and wire_name.endswith("_value") and len(wire_name) > 7:
        return wire_name[1:-6]
    if "._" in wire_name and wire_name.endswith("_value"):  # FetchXML link-entity spelling alias._x_value
        alias, _, inner = wire_name.partition(".")
        return f"{alias}.{lookup_key(inner)}"
    return wire_name


def to_user_time(utc_text: str, formatted: str) -> str | None:
    """The UTC instant `utc_text` as ISO 8601 with the offset its user-zone rendering `formatted` implies, or None
    when the rendering is in no format known here or implies no real UTC offset (within 14 h, whole quarter hours)."""
    utc = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    utc_minute = utc.replace(tzinfo=None, second=0, microsecond=0)
    for pattern in _LOCAL_FORMATS:
        try:
            local = datetime.strptime(formatted.strip(), pattern)
        except ValueError:
            continue
        minutes = (local - utc_minute).total_seconds() / 60
        if abs(minutes) <= 14 * 60 and minutes % 15 == 0:
            shifted = utc.astimezone(timezone(timedelta(minutes=minutes))).isoformat()
            return shifted.replace("+00:00", "Z")
    return None


def _shape_lookup(row: Mapping[str, Any], wire_name: str, value: Any, column: ColumnInfo | None) -> dict[str, Any]:
    shaped: dict[str, Any] = {}
    table = row.get(wire_name + LOOKUP_TABLE)
    if table is None and column is not None and column.targets and len(column.targets) == 1:
        table = column.targets[0]
    if table is not None:
        shaped["table"] = table
    shaped["id"] = value
    name = row.get(wire_name + FORMATTED)
    if name is not None:
        shaped["name"] = name
    return shaped


def _looks_like_choice(value: Any, formatted: str) -> bool:
    """Without metadata: an integer whose formatted value is a word, not the number rendered in a locale."""
    return isinstance(value, int) and not isinstance(value, bool) and not _NUMBER_LIKE.match(formatted)


def _shape_multi_choice(value: str, formatted: str | None) -> list[dict[str, Any]]:
    values = [int(part) for part in str(value).split(",") if part.strip()]
    labels = [label.strip() for label in formatted.split(";")] if formatted else []
    if len(labels) != len(values):
        return [{"value": number} for number in values]
    return [{"value": number, "label": label} for number, label in zip(values, labels, strict=True)]


def shape_value(row: Mapping[str, Any], wire_name: str, column: ColumnInfo | None = None) -> tuple[str, Any]:
    """The (output key, shaped value) for one non-null property of a raw row."""
    value = row[wire_name]
    column_type = column.type if column is not None else None
    formatted = row.get(wire_name + FORMATTED)
    if isinstance(value, dict):
        return wire_name, shape_row(value)
    if isinstance(value, list):
        return wire_name, [shape_row(item) if isinstance(item, dict) else item for item in value]
    if column_type in LOOKUP_TYPES or (column_type is None and wire_name + LOOKUP_TABLE in row):
        return lookup_key(wire_name), _shape_lookup(row, wire_name, value, column)
    if column_type in MULTI_CHOICE_TYPES:
        return wire_name, _shape_multi_choice(value, formatted)
    if formatted is not None and (
        column_type in CHOICE_TYPES or (column_type is None and _looks_like_choice(value, formatted))
    ):
        return wire_name, {"value": value, "label": formatted}
    return wire_name, value


def shape_row(raw: Mapping[str, Any], columns: Mapping[str, ColumnInfo] | None = None) -> dict[str, Any]:
    """A compact, annotation-free copy of one Dataverse row. `columns` (logical name -> metadata) sharpens typing;
    without it (FetchXML, expanded records) the annotations decide."""
    columns = columns or {}
    shaped: dict[str, Any] = {}
    local_times: dict[str, str] = {}
    for wire_name, value in raw.items():
        if wire_name.endswith(NEXT_LINK) and isinstance(value, str) and "$skiptoken" in value:
            shaped[f"{wire_name.removesuffix(NEXT_LINK)}_more"] = True  # an expanded collection cut at its page
            continue
        if "@" in wire_name or value is None:
            continue
        column = columns.get(lookup_key(wire_name))
        key, shaped_value = shape_value(raw, wire_name, column)
        if isinstance(value, str) and _DATE_TIME_UTC.match(value):
            formatted = raw.get(wire_name + FORMATTED)
            user_time = to_user_time(value, formatted) if formatted else None
            if user_time is not None:
                shaped_value = user_time
            elif formatted:
                local_times[f"{key}_local"] = formatted
        if key in shaped and isinstance(shaped[key], dict) and isinstance(shaped_value, dict):
            # a lookup x and its $expand share the name x: keep the lookup and nest the expanded record in it
            lookup, record = (shaped[key], shaped_value) if wire_name == key else (shaped_value, shaped[key])
            shaped[key] = lookup | {"expanded": record}
            continue
        shaped[key] = shaped_value
    for key, formatted in local_times.items():
        shaped.setdefault(key, formatted)
    return shaped


def shape_rows(raw_rows: Sequence[Mapping[str, Any]],
               columns: Mapping[str, ColumnInfo] | None = None) -> list[dict[str, Any]]:
    return [shape_row(row, columns) for row in raw_rows]

