"""FetchXML aggregates: grouping (with date grouping in the caller's zone) and count/countcolumn/sum/avg/min/max.

Null values are ignored by every function except `count`, which counts rows. Sums and averages of Money, Decimal and
Double are floats; of whole-number columns they stay whole (an integer average truncates, as SQL's AVG does).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any

from dataverse.sandbox.dataverse.fetchxml_parse import AttributeSpec, EntitySpec, fetch_error
from dataverse.sandbox.dataverse.model import LookupValue, QueryContext, Row

AGGREGATE_LIMIT = 50_000
AGGREGATE_LIMIT_CODE = "0x8004E023"
WHOLE_TYPES = frozenset({"Integer", "BigInt"})
Record = dict[str, Row | None]


def aggregate_attributes(entity: EntitySpec) -> list[tuple[str, AttributeSpec]]:
    """(entity alias, attribute) for the attributes of the entity and all its link-entities, in document order."""
    found = [(entity.alias, attribute) for attribute in entity.attributes]
    for link in entity.links:
        found.extend(aggregate_attributes(link))
    return found


def aggregate_rows(records: list[Record], entity: EntitySpec, ctx: QueryContext, *,
                   limit: int | None) -> list[dict[str, Any]]:
    """One output row per group, keyed by attribute alias, ordered by the entity's `<order alias>` elements."""
    cap = min(limit or AGGREGATE_LIMIT, AGGREGATE_LIMIT)
    if len(records) > cap:
        raise fetch_error("AggregateQueryRecordLimit exceeded. Cannot perform this operation.", AGGREGATE_LIMIT_CODE)
    attributes = [(alias, _required_alias(attribute.alias, "attribute"), attribute)
                  for alias, attribute in aggregate_attributes(entity)]
    aliases = [name for _, name, _ in attributes]
    if len(set(aliases)) != len(aliases):
        raise fetch_error("Each attribute of an aggregate query needs a unique alias.")
    group_by = [(alias, name, attribute) for alias, name, attribute in attributes if attribute.groupby]
    groups: dict[tuple[Any, ...], list[Record]] = {}
    shown: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # strings group case-insensitively; show the first spelling
    for record in records:
        values = tuple(_group_value(record, alias, attribute, ctx) for alias, _, attribute in group_by)
        key = tuple(_sort_key(value) if isinstance(value, str) else value for value in values)
        groups.setdefault(key, []).append(record)
        shown.setdefault(key, values)
    if not group_by and not groups:
        groups[()] = []
        shown[()] = ()
    output: list[dict[str, Any]] = []
    for key, members in groups.items():
        row: dict[str, Any] = {}
        for (_, name, _), value in zip(group_by, shown[key], strict=True):
            row[name] = value
        for alias, name, attribute in attributes:
            if not attribute.groupby:
                row[name] = _aggregate(members, alias, attribute)
        output.append(row)
    orders = [(_required_alias(order.alias, "order"), order.descending) for order in entity.orders]
    known = set(aliases)
    for alias, _ in orders:
        if alias not in known:
            raise fetch_error(f"The order alias '{alias}' does not match any attribute alias of the aggregate query.")
    sort_keys = orders or [(name, False) for _, name, _ in group_by]
    output.sort(key=functools.cmp_to_key(lambda a, b: _compare_rows(a, b, sort_keys)))
    return output


def _required_alias(alias: str | None, what: str) -> str:
    """The alias every attribute and order of an aggregate query has (the parser refuses one without)."""
    if not alias:
        raise fetch_error(f"Every {what} of an aggregate query needs an alias.")
    return alias


def _cell(record: Record, alias: str, attribute: AttributeSpec) -> Any:
    row = record.get(alias)
    return None if row is None else row.get(attribute.column.logical_name)


def _group_value(record: Record, alias: str, attribute: AttributeSpec, ctx: QueryContext) -> Any:
    value = _cell(record, alias, attribute)
    if attribute.dategrouping is None or value is None:
        return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        day = aware.date() if attribute.column.date_only else aware.astimezone(ctx.user_timezone).date()
    elif isinstance(value, date):
        day = value
    else:
        return None
    grouping = attribute.dategrouping
    if grouping == "day":
        return day.day
    if grouping == "week":
        january_first = date(day.year, 1, 1)
        offset = (january_first.weekday() + 1) % 7  # Sunday-based, as SQL Server's DATEPART(week)
        return (day.timetuple().tm_yday - 1 + offset) // 7 + 1
    if grouping == "month":
        return day.month
    if grouping == "quarter":
        return (day.month - 1) // 3 + 1
    return day.year


def _aggregate(records: list[Record], alias: str, attribute: AttributeSpec) -> Any:
    function = attribute.aggregate
    if function == "count":
        return len(records)
    values = [_cell(record, alias, attribute) for record in records]
    values = [value.id if isinstance(value, LookupValue) else value for value in values if value is not None]
    if function == "countcolumn":
        if attribute.distinct:
            return len({value.casefold() if isinstance(value, str) else value for value in values})
        return len(values)
    whole = attribute.column.type in WHOLE_TYPES
    if function == "sum":
        total = sum(values)
        return int(total) if whole else float(total)
    if function == "avg":
        if not values:
            return None
        mean = sum(values) / len(values)
        return int(mean) if whole else float(mean)
    if not values:
        return None
    try:
        chosen = min(values, key=_sort_key) if function == "min" else max(values, key=_sort_key)
    except TypeError:
        raise fetch_error(
            f"The aggregate '{function}' can't be computed for '{attribute.column.logical_name}'."
        ) from None
    return float(chosen) if attribute.column.type in ("Money", "Decimal", "Double") else chosen


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _compare_rows(a: dict[str, Any], b: dict[str, Any], keys: list[tuple[str, bool]]) -> int:
    for alias, descending in keys:
        result = compare_values(a.get(alias), b.get(alias))
        if result:
            return -result if descending else result
    return 0


def compare_values(left: Any, right: Any) -> int:
    """Sort order as SQL Server: nulls first, strings case-insensitive, lookups by id."""
    if left is None or right is None:
        return (left is not None) - (right is not None)
    if isinstance(left, LookupValue):
        left = left.id
    if isinstance(right, LookupValue):
        right = right.id
    left, right = _sort_key(left), _sort_key(right)
    try:
        return int(left > right) - int(left < right)
    except TypeError:
        return (str(left) > str(right)) - (str(left) < str(right))
