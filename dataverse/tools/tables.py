"""Schema access for the tools: the cached table list and table metadata, the administrator's table policy,
resolving a model-supplied table name, and checking/translating selected columns against the metadata.

Reading rows needs only a table's columns and their types, so `resolve_columns` gets them in one request (the table's
definition with its attributes) and reads the table list only for a name that is no table's logical name; a cold
query_records therefore costs two Dataverse requests, not the list, the twelve that describe a table, and the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dataverse.settings import Settings
from dataverse.tools.context import ToolCall, ToolRuntime
from dataverse.tools.errors import (
    InvalidArgumentError,
    UnknownTableError,
    dataverse_errors,
    unknown_columns_error,
    unknown_table_error,
)
from dataverse.webapi.errors import NotFoundError
from dataverse.webapi.models import ColumnMetadata, TableColumns, TableMetadata, TableSummary
from dataverse.webapi.odata import validate_logical_name

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})


def table_allowed(settings: Settings, logical_name: str) -> bool:
    """The administrator's allow/deny lists: deny wins; an empty allow list allows everything else."""
    name = logical_name.lower()
    if name in {entry.lower() for entry in settings.table_denylist}:
        return False
    allow = {entry.lower() for entry in settings.table_allowlist}
    return not allow or name in allow


def table_not_allowed_error(logical_name: str) -> UnknownTableError:
    return UnknownTableError(
        f"Table {logical_name!r} is not available through this connector (administrator policy). "
        "Use list_tables to see the tables you can read."
    )


async def list_tables(runtime: ToolRuntime, call: ToolCall) -> list[TableSummary]:
    """Every table in the environment the policy allows, from the 24-hour cache."""

    async def create() -> list[TableSummary]:
        with dataverse_errors():
            return await call.client.list_tables()

    tables = await runtime.metadata.list_tables(call.environment, create)
    return [table for table in tables if table_allowed(runtime.settings, table.logical_name)]


async def resolve_table(runtime: ToolRuntime, call: ToolCall, name: str) -> TableSummary:
    """The table a model means by `name` (a logical name; an entity set name is accepted too)."""
    wanted = (name or "").strip().lower()
    if wanted and not table_allowed(runtime.settings, wanted):
        raise table_not_allowed_error(wanted)
    tables = await list_tables(runtime, call)
    for table in tables:
        if table.logical_name == wanted:
            return table
    for table in tables:
        if table.entity_set.lower() == wanted:
            return table
    raise unknown_table_error(name, [table.logical_name for table in tables])


async def get_table(runtime: ToolRuntime, call: ToolCall, table: TableSummary) -> TableMetadata:
    """Columns and relationships of `table`, from the one-hour cache."""

    async def create() -> TableMetadata:
        with dataverse_errors(table=table.logical_name):
            return await call.client.get_table(table.logical_name)

    return await runtime.metadata.get_table(call.environment, table.logical_name, create)


async def resolve_columns(runtime: ToolRuntime, call: ToolCall, name: str) -> TableColumns:
    """The table a model means by `name`, with its columns' names and types: what reading rows needs. From the cache
    (its own entry, or a cached full description); else one request for the table's definition with its attributes.
    The table list is read only when that finds no table (an entity set name, or a mistake)."""
    wanted = (name or "").strip().lower()
    if wanted and not table_allowed(runtime.settings, wanted):
        raise table_not_allowed_error(wanted)
    if _is_logical_name(wanted):
        columns = await get_columns(runtime, call, wanted)
        if columns is not None:
            return columns
    summary = await resolve_table(runtime, call, name)
    columns = await get_columns(runtime, call, summary.logical_name)
    if columns is None:  # listed a moment ago, gone now
        raise unknown_table_error(name, [table.logical_name for table in await list_tables(runtime, call)])
    return columns


async def get_columns(runtime: ToolRuntime, call: ToolCall, logical_name: str) -> TableColumns | None:
    """The columns of the table `logical_name` from the one-hour cache, or None if the environment has no such
    listed table."""
    full = runtime.metadata.cached_table(call.environment, logical_name)
    if full is not None:
        return full.columns_only()

    async def create() -> TableColumns | None:
        with dataverse_errors(table=logical_name):
            try:
                columns = await call.client.get_table_columns(logical_name)
            except NotFoundError:
                return None
        return columns if columns.listed else None

    return await runtime.metadata.get_columns(call.environment, logical_name, create)


def _is_logical_name(name: str) -> bool:
    try:
        validate_logical_name(name)
    except ValueError:
        return False
    return True


def columns_by_name(metadata: TableMetadata | TableColumns) -> dict[str, ColumnMetadata]:
    return {column.logical_name: column for column in metadata.columns}


@dataclass(frozen=True)
class Selection:
    """Columns as the model named them (logical names) and as they go on the wire (`_x_value` for lookups)."""

    logical: list[str]
    wire: list[str]


def parse_column_list(columns: Iterable[str] | str | None) -> list[str]:
    """A list from either a list or a comma-separated string; blanks dropped, duplicates removed, order kept."""
    if columns is None:
        return []
    items = columns.split(",") if isinstance(columns, str) else list(columns)
    seen: dict[str, None] = {}
    for item in items:
        cleaned = str(item).strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def resolve_selection(metadata: TableMetadata | TableColumns, columns: Iterable[str] | str | None) -> Selection:
    """Check every requested column exists (accepting `_x_value` for a lookup x); default: the primary name."""
    requested = parse_column_list(columns)
    by_name = columns_by_name(metadata)
    if not requested:
        requested = [name for name in (metadata.table.primary_name,) if name]
    logical: list[str] = []
    unknown: list[str] = []
    for name in requested:
        key = name.lower()
        if key.startswith("_") and key.endswith("_value") and key[1:-6] in by_name:
            key = key[1:-6]
        if key in by_name:
            logical.append(key)
        else:
            unknown.append(name)
    if unknown:
        raise unknown_columns_error(metadata.table.logical_name, unknown, by_name)
    wire = [f"_{name}_value" if by_name[name].type in LOOKUP_TYPES else name for name in logical]
    return Selection(logical=logical, wire=wire)


_TOP_LEVEL_NAVIGATION = re.compile(r"(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)")


def check_expand_policy(settings: Settings, metadata: TableMetadata, expand: str | None) -> None:
    """With a table allow/deny list configured, refuse an $expand that reaches a table the policy hides.

    Top-level navigation properties are mapped to their tables through the relationships; a nested $expand cannot be
    checked without the related table's metadata, so it is refused while a policy is in force.
    """
    if not expand or not (settings.table_allowlist or settings.table_denylist):
        return
    if "$expand" in expand:
        raise InvalidArgumentError(
            "Nested $expand is not available while this connector restricts tables; expand one level and query the "
            "related table separately."
        )
    depth, top_level = 0, []
    for char in expand:  # drop nested options such as ($select=...) before reading the property names
        depth += char == "("
        if depth == 0:
            top_level.append(char)
        depth -= char == ")"
    targets = {r.navigation_property: r.referenced_entity for r in metadata.many_to_one}
    targets |= {r.navigation_property: r.referencing_entity for r in metadata.one_to_many}
    for navigation in _TOP_LEVEL_NAVIGATION.findall("".join(top_level)):
        table = targets.get(navigation)
        if table is not None and not table_allowed(settings, table):
            raise table_not_allowed_error(table)


async def enforce_expand_policy(runtime: ToolRuntime, call: ToolCall, table: TableSummary, expand: str | None) -> None:
    """`check_expand_policy` against the table's full description, fetched only when it can matter."""
    settings = runtime.settings
    if expand and (settings.table_allowlist or settings.table_denylist):
        check_expand_policy(settings, await get_table(runtime, call, table), expand)
