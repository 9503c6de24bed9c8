"""OData filters written the way people talk, made exact before they are sent.

A model writes `salesstage eq 'Develop'`, `ownerid eq 'me'`, `statecode eq 'Open'`, `customerid eq '<guid>'` or
`estimatedclosedate lt '2026-03-31'`. Dataverse refuses each with "incompatible types". Where one exact translation
exists it is made, and the result says what was translated:

    choice, state or status column vs a label     -> the option's value        salesstage eq 1
    choice vs a quoted number                      -> the number                salesstage eq 1
    lookup x (or _x_value) vs 'me'                 -> the signed-in user's id   _ownerid_value eq <user id>
    lookup x (or _x_value) vs a GUID               -> _x_value vs the GUID      _customerid_value eq <guid>
    number column vs a quoted number               -> the number                estimatedvalue gt 400000
    date or date-time column vs an ISO date        -> the unquoted date         estimatedclosedate lt 2026-03-31

Where no exact translation exists the call is refused with what would work: a label that is no option gets the list
of values; a lookup compared with a name gets the `_x_value eq <guid>` form (with the ids of the records that have
that name) and the navigation form (`customerid_account/name eq 'Contoso'`); a date in words gets the date format
and the relative-date functions. Nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors
from dataverse.tools.schema.lookup import get_whoami, list_tables
from dataverse.tools.schema.selection import LOOKUP_TYPES
from dataverse.webapi.models import ColumnMetadata, TableMetadata
from dataverse.webapi.odata import format_guid, quote_string

CHOICE_TYPES = frozenset({"Picklist", "State", "Status"})
NUMBER_TYPES = frozenset({"Integer", "BigInt", "Decimal", "Double", "Money"})
DATE_TYPES = frozenset({"DateTime"})
ME_WORDS = frozenset({"me", "myself", "@me", "current user", "currentuser", "current_user"})
COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
RELATIVE_DATES = ("Today, Tomorrow, Yesterday, ThisWeek, NextWeek, LastWeek, ThisMonth, NextMonth, LastMonth, "
                  "ThisYear, NextXDays, LastXDays, OlderThanXDays")

_TOKEN = re.compile(r"\s+|'(?:[^']|'')*'|[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*|-?\d[\w.:+-]*|.", re.S)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Comparison:
    """`column op 'text'` found in a filter, with where it stands."""

    start: int
    end: int
    name: str  # as written: x or _x_value
    operator: str
    text: str  # the literal's value, unquoted


@dataclass(frozen=True)
class Translated:
    filter: str
    notes: list[str]  # "salesstage eq 'Develop' -> salesstage eq 1", one per translated comparison


def quoted_comparisons(filter_text: str) -> list[Comparison]:
    """Every `<name> <op> '<text>'` in the filter (string literals elsewhere are skipped whole)."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(filter_text) if not m.group().isspace()]
    found = []
    for index in range(len(tokens) - 2):
        (start, _, name), (_, _, operator), (_, end, literal) = tokens[index:index + 3]
        preceding = tokens[index - 1][2] if index else ""
        if (operator in COMPARISONS and literal.startswith("'") and len(literal) >= 2
                and re.fullmatch(r"[A-Za-z_]\w*", name) and preceding not in ("/", ".")):
            found.append(Comparison(start, end, name, operator, literal[1:-1].replace("''", "'")))
    return found


def bare_lookup_comparisons(filter_text: str, lookups: set[str]) -> list[tuple[int, int, str]]:
    """`<lookup logical name> <op> <guid>` (unquoted): spans and names, to be written as _x_value."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(filter_text) if not m.group().isspace()]
    found = []
    for index in range(len(tokens) - 2):
        (start, end, name), (_, _, operator), (_, _, value) = tokens[index:index + 3]
        preceding = tokens[index - 1][2] if index else ""
        if name in lookups and operator in COMPARISONS and _is_guid(value) and preceding not in ("/", ".", "'"):
            found.append((start, end, name))
    return found


def needs_metadata(filter_text: str | None, columns: dict[str, ColumnMetadata]) -> bool:
    """True when the filter compares a column with quoted text, or names a lookup by its logical name: only then
    does translating it need the table's full description."""
    if not filter_text:
        return False
    lookups = {name for name, column in columns.items() if column.type in LOOKUP_TYPES}
    return any(_column_of(c.name, columns) is not None for c in quoted_comparisons(filter_text)) or bool(
        bare_lookup_comparisons(filter_text, lookups))


@dataclass(frozen=True)
class FilterContext:
    """What translating needs beyond the table: the caller's id, records by name, and each table's primary name."""

    user_id: Callable[[], Awaitable[str]]
    find_by_name: Callable[[list[str], str], Awaitable[list[tuple[str, str]]]]  # (tables, name) -> [(table, id)]
    primary_names: Mapping[str, str]


async def translate_filter(filter_text: str, metadata: TableMetadata, context: FilterContext) -> Translated:
    """The filter with every exactly translatable comparison translated; InvalidArgumentError naming the fix for one
    that cannot be."""
    columns = {column.logical_name: column for column in metadata.columns}
    lookups = {name for name, column in columns.items() if column.type in LOOKUP_TYPES}
    replacements: list[tuple[int, int, str]] = []
    notes: list[str] = []
    for comparison in quoted_comparisons(filter_text):
        column = _column_of(comparison.name, columns)
        if column is None:
            continue
        written = filter_text[comparison.start:comparison.end]
        exact = await _exact(comparison, column, metadata, context)
        if exact is not None and exact != written:
            replacements.append((comparison.start, comparison.end, exact))
            notes.append(f"{written} -> {exact}")
    taken = [(start, end) for start, end, _ in replacements]
    for start, end, name in bare_lookup_comparisons(filter_text, lookups):
        if not any(s <= start < e for s, e in taken):
            replacements.append((start, end, f"_{name}_value"))
            notes.append(f"{name} -> _{name}_value")
    translated = filter_text
    for start, end, text in sorted(replacements, reverse=True):
        translated = translated[:start] + text + translated[end:]
    return Translated(filter=translated, notes=notes)


def _column_of(name: str, columns: dict[str, ColumnMetadata]) -> ColumnMetadata | None:
    if name.startswith("_") and name.endswith("_value") and name[1:-6] in columns:
        column = columns[name[1:-6]]
        return column if column.type in LOOKUP_TYPES else None
    return columns.get(name)


async def _exact(comparison: Comparison, column: ColumnMetadata, metadata: TableMetadata,
                 context: FilterContext) -> str | None:
    """The exact comparison for a quoted literal, or None to leave it as written; raises when none exists."""
    name, op, text, kind = column.logical_name, comparison.operator, comparison.text.strip(), column.type
    if kind in CHOICE_TYPES:
        return f"{name} {op} {_choice_value(column, text)}"
    if kind in LOOKUP_TYPES:
        wire = f"_{name}_value"
        if text.casefold() in ME_WORDS:
            if "systemuser" not in (column.targets or []) and kind != "Owner":
                raise InvalidArgumentError(f"{name} points at {', '.join(column.targets or [])}, not at users, so "
                                           "'me' cannot be compared with it.")
            return f"{wire} {op} {await context.user_id()}"
        if _is_guid(text):
            return f"{wire} {op} {format_guid(text)}"
        raise await _lookup_by_name_error(comparison, column, metadata, context)
    if kind in NUMBER_TYPES:
        if _NUMBER.match(text.replace(",", "")):
            return f"{name} {op} {text.replace(',', '')}"
        raise InvalidArgumentError(f"{name} is a number: compare it with a number, e.g. {name} {op} 1000 (no quotes).")
    if kind in DATE_TYPES:
        if _ISO_DATE.match(text) or _ISO_DATE_TIME.match(text):
            return f"{name} {op} {text}"
        raise InvalidArgumentError(
            f"{name} is a date: write dates as {name} {op} 2026-03-31 (no quotes; date-times as 2026-03-31T17:00:00Z), "
            f"or use a relative-date function such as Microsoft.Dynamics.CRM.NextXDays(PropertyName='{name}',"
            f"PropertyValue=7) or Microsoft.Dynamics.CRM.ThisMonth(PropertyName='{name}'). Others: {RELATIVE_DATES}.")
    return None


def _choice_value(column: ColumnMetadata, text: str) -> int:
    options = column.options or []
    if _NUMBER.match(text) and "." not in text:
        return int(text)
    matches = [option for option in options if option.label.casefold() == text.casefold()]
    if len(matches) == 1:
        return matches[0].value
    listed = ", ".join(f"{option.value} {option.label}" for option in options)
    what = {"State": "a state", "Status": "a status reason"}.get(column.type, "a choice")
    raise InvalidArgumentError(
        f"{column.logical_name} is {what} compared by value: {quote_string(text)} is not one of its labels. Its "
        f"values: {listed}. Write e.g. {column.logical_name} eq {options[0].value if options else 1}.")


async def _lookup_by_name_error(comparison: Comparison, column: ColumnMetadata, metadata: TableMetadata,
                                context: FilterContext) -> InvalidArgumentError:
    name, text = column.logical_name, comparison.text.strip()
    targets = column.targets or []
    navigations = {r.referenced_entity: r.navigation_property for r in metadata.many_to_one
                   if r.referencing_attribute == name and r.navigation_property}
    found = await context.find_by_name(targets, text)
    if found:
        ids = "; ".join(f"_{name}_value eq {record_id} ({table})" for table, record_id in found[:5])
        by_id = f"Records named {quote_string(text)}: {ids}."
    else:
        by_id = f"No {' or '.join(targets) or 'record'} named {quote_string(text)} is visible to you; by id: " \
                f"_{name}_value eq <guid>."
    paths = [f"{navigation}/{context.primary_names[table]} eq {quote_string(text)}"
             for table, navigation in navigations.items() if context.primary_names.get(table)]
    by_path = f" Or through the navigation property: {' or '.join(paths)}." if paths else ""
    return InvalidArgumentError(f"{name} is a lookup: compare its id, not its name. {by_id}{by_path}")


def _is_guid(text: str) -> bool:
    try:
        format_guid(text)
    except ValueError:
        return False
    return True


def filter_context(call: ToolCall) -> Awaitable[FilterContext]:
    """The caller's FilterContext: whoami for 'me', name lookups as the caller, primary names from the table list."""
    return _filter_context(call)


async def _filter_context(call: ToolCall) -> FilterContext:
    tables = {table.logical_name: table for table in await list_tables(call)}

    async def user_id() -> str:
        return (await get_whoami(call)).user_id

    async def find_by_name(targets: list[str], name: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for target in targets:
            summary = tables.get(target)
            if summary is None or not summary.primary_name:
                continue
            with dataverse_errors(table=target):
                page = await call.client.query(summary.entity_set, select=[summary.primary_id],
                                               filter=f"{summary.primary_name} eq {quote_string(name)}",
                                               page_size=5, annotations=False)
            found.extend((target, str(row[summary.primary_id])) for row in page.rows if row.get(summary.primary_id))
        return found

    return FilterContext(user_id=user_id, find_by_name=find_by_name,
                         primary_names={name: t.primary_name for name, t in tables.items() if t.primary_name})
