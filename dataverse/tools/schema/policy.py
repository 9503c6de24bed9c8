"""The administrator's table policy: which tables a tool may reach (allow and deny lists), applied to named tables
and to the tables an `$expand` reaches."""

from __future__ import annotations

import re

from dataverse.settings import Settings
from dataverse.tools.kit.errors import InvalidArgumentError, UnknownTableError
from dataverse.webapi.models import TableMetadata


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


def require_table_allowed(settings: Settings, logical_name: str) -> None:
    if logical_name and not table_allowed(settings, logical_name):
        raise table_not_allowed_error(logical_name)


def restricts_tables(settings: Settings) -> bool:
    return bool(settings.table_allowlist or settings.table_denylist)


_TOP_LEVEL_NAME = re.compile(r"(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)")


def top_level_navigations(expand: str) -> list[str]:
    """The navigation names at the top level of an $expand (nested options dropped)."""
    depth, top_level = 0, []
    for char in expand:
        depth += char == "("
        if depth == 0:
            top_level.append(char)
        depth -= char == ")"
    return _TOP_LEVEL_NAME.findall("".join(top_level))


def check_expand_policy(settings: Settings, metadata: TableMetadata, expand: str | None) -> None:
    """With a table allow/deny list configured, refuse an $expand that reaches a table the policy hides.

    Top-level navigation properties are mapped to their tables through the relationships; a nested $expand cannot be
    checked without the related table's metadata, so it is refused while a policy is in force.
    """
    if not expand or not restricts_tables(settings):
        return
    if "$expand" in expand:
        raise InvalidArgumentError(
            "Nested $expand is not available while this connector restricts tables; expand one level and query the "
            "related table separately."
        )
    targets = {r.navigation_property: r.referenced_entity for r in metadata.many_to_one}
    targets |= {r.navigation_property: r.referencing_entity for r in metadata.one_to_many}
    for navigation in top_level_navigations(expand):
        table = targets.get(navigation)
        if table is not None and not table_allowed(settings, table):
            raise table_not_allowed_error(table)
