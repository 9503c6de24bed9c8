"""Column lists as a model names them, checked against a table's columns and spelled for the wire (`_x_value` for a
lookup x)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dataverse.tools.kit.errors import unknown_columns_error
from dataverse.webapi.models import ColumnMetadata, TableColumns, TableMetadata

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})


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


# Columns every table carries for the platform's own bookkeeping: not what a person means by "the record".
BOOKKEEPING_COLUMNS = frozenset({
    "versionnumber", "importsequencenumber", "overriddencreatedon", "timezoneruleversionnumber",
    "utcconversiontimezonecode", "createdonbehalfby", "modifiedonbehalfby", "owningbusinessunit", "owninguser",
    "owningteam", "processid", "stageid", "traversedpath", "exchangerate", "entityimageid", "entityimage",
    "entityimage_timestamp", "entityimage_url", "onholdtime", "lastonholdtime",
})


def is_business_column(name: str) -> bool:
    """False for bookkeeping: the columns above, money `_base` copies, phonetic `yomi` names, address ids."""
    return not (name in BOOKKEEPING_COLUMNS or name.endswith("_base") or "yomi" in name
                or (name.startswith("address") and name.endswith("_addressid")))
