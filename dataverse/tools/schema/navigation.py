"""Navigation properties, the names `$expand` and binds take, and the help a model needs when it guesses one.

A model writes `expand="customerid($select=name)"`: customerid is the lookup column, and Dataverse wants the
navigation property of one of its targets (`customerid_account`, `customerid_contact`). When Dataverse refuses an
expand, the refusal is rewritten to list the valid names for what the model wrote."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, nearest_names
from dataverse.tools.schema.lookup import get_table
from dataverse.tools.schema.policy import top_level_navigations
from dataverse.webapi.errors import BadRequestError
from dataverse.webapi.models import TableMetadata, TableSummary

_MISSING_PROPERTY = re.compile(r"Could not find a property named '([^']+)'")
LISTED_NAVIGATIONS = 40


def lookup_navigations(metadata: TableMetadata, column: str) -> dict[str, str]:
    """{navigation property: target table} for a lookup column (one per target of a polymorphic lookup)."""
    return {r.navigation_property: r.referenced_entity for r in metadata.many_to_one
            if r.referencing_attribute == column and r.navigation_property}


def expand_help(metadata: TableMetadata, written: str) -> InvalidArgumentError:
    """What to write instead of a navigation name Dataverse does not know."""
    table = metadata.table.logical_name
    name = written[1:-6] if written.startswith("_") and written.endswith("_value") else written
    for_lookup = lookup_navigations(metadata, name)
    if for_lookup:
        options = " or ".join(f"{navigation} ({target})" for navigation, target in for_lookup.items())
        example = next(iter(for_lookup))
        return InvalidArgumentError(
            f"{written} is a lookup column of {table}, not a navigation property: $expand takes {options}, e.g. "
            f"expand='{example}($select=name)'.")
    valid = sorted({r.navigation_property for r in metadata.many_to_one if r.navigation_property}
                   | {r.navigation_property for r in metadata.one_to_many if r.navigation_property})
    close = nearest_names(written, valid, limit=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    listed = ", ".join(valid[:LISTED_NAVIGATIONS]) + (" ..." if len(valid) > LISTED_NAVIGATIONS else "")
    return InvalidArgumentError(f"{table} has no navigation property {written!r}.{hint} Valid: {listed}.")


@asynccontextmanager
async def expand_errors(call: ToolCall, table: TableSummary, expand: str | None) -> AsyncIterator[None]:
    """Turn Dataverse's refusal of an unknown property named in `expand` into the list of valid names."""
    try:
        yield
    except BadRequestError as error:
        missing = _MISSING_PROPERTY.search(error.message)
        if not expand or missing is None or missing[1] not in top_level_navigations(expand):
            raise
        raise expand_help(await get_table(call, table), missing[1]) from error
