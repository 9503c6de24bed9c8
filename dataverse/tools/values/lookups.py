"""Lookup values for create_record/update_record: from what a model knows (an id, a name, "me") to the Web API's
`<navigation property>@odata.bind: "/<entityset>(<id>)"`.

Accepted forms, for a lookup column x:
    {"table": "account", "id": "<guid>"}      a record of one of x's target tables
    "<guid>" or {"id": "<guid>"}              the target table is found (probed when x has several targets)
    "Contoso Ltd" or {"table": "account", "name": "Contoso"}
                                              searched by primary name as the signed-in user: an exact match
                                              (case ignored) wins, else a unique prefix match; anything else lists
                                              the candidates (name, table, id)
    "me" / "myself"                           the signed-in user (lookups to systemuser, e.g. ownerid)
    null                                      clears the lookup (update)
Polymorphic lookups bind through the relationship of the chosen target (customerid -> customerid_account, regarding
-> regardingobjectid_account_appointment, ...), which is read from the table's ManyToOne relationships.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import (
    InvalidArgumentError,
    InvalidValueError,
    Target,
    dataverse_errors,
    translate_dataverse_error,
)
from dataverse.tools.schema.lookup import list_tables
from dataverse.tools.schema.policy import table_allowed
from dataverse.tools.values.convert import AmbiguousValueError
from dataverse.webapi import errors as webapi_errors
from dataverse.webapi.models import ColumnMetadata, TableMetadata, TableSummary
from dataverse.webapi.odata import format_guid, quote_string

ME_WORDS = frozenset({"me", "myself", "@me", "current user", "the current user"})
NAME_SEARCH_LIMIT = 25
LISTED_CANDIDATES = 10
_BIND_PATH = re.compile(r"^/?([A-Za-z_][A-Za-z0-9_]*)\(\{?([0-9a-fA-F-]{36})\}?\)$")


class LookupNotFoundError(InvalidValueError):
    """No record of the lookup's target tables has that id or name (as far as the signed-in user can see)."""


@dataclass(frozen=True)
class LookupTarget:
    table: str
    id: str
    name: str | None = None


@dataclass(frozen=True)
class LookupBinding:
    """One lookup, ready for the request body: `navigation@odata.bind` -> `/<entity_set>(<id>)`, or null to clear."""

    column: str
    navigation: str
    entity_set: str | None
    target: LookupTarget | None

    @property
    def body_key(self) -> str:
        return f"{self.navigation}@odata.bind"

    @property
    def body_value(self) -> str | None:
        return f"/{self.entity_set}({self.target.id})" if self.target is not None else None


class LookupResolver:
    """Resolves lookup values for one table on one call, as the signed-in user."""

    def __init__(self, call: ToolCall, metadata: TableMetadata, *, get_user_id: Callable[[], Awaitable[str]]):
        self.call = call
        self.metadata = metadata
        self._get_user_id = get_user_id
        self._tables: dict[str, TableSummary] | None = None

    async def resolve(self, column: ColumnMetadata, value: Any, *, record_id: str | None = None) -> LookupBinding:
        where = f"{self.metadata.table.logical_name}.{column.logical_name}"
        navigation = self.navigations(column)
        if not navigation:
            raise InvalidArgumentError(f"{where} has no relationship this connector can bind; leave it out.")
        if value is None:
            return await self._clear(column, navigation, record_id)
        table, record, name = parse_lookup_value(value, where=where, targets=list(navigation))
        if isinstance(record, str) and record.casefold() in ME_WORDS:
            if "systemuser" not in navigation:
                raise InvalidValueError(f"'me' means the signed-in user, but {where} points at "
                                        f"{', '.join(navigation)}, not at users.")
            target = LookupTarget("systemuser", await self._get_user_id())
        elif record is not None:
            target = await self._find_by_id(where, navigation, table, record)
        else:
            target = await self._find_by_name(where, [table] if table else list(navigation), name or "")
        summary = await self._table(target.table)
        return LookupBinding(column.logical_name, navigation[target.table], summary.entity_set, target)

    def navigations(self, column: ColumnMetadata) -> dict[str, str]:
        """{target table: navigation property} for a lookup column, from the ManyToOne relationships."""
        found: dict[str, str] = {}
        for relationship in self.metadata.many_to_one:
            if relationship.referencing_attribute == column.logical_name and relationship.navigation_property:
                found.setdefault(relationship.referenced_entity, relationship.navigation_property)
        return found

    async def _table(self, logical_name: str) -> TableSummary:
        if self._tables is None:
            self._tables = {table.logical_name: table for table in await list_tables(self.call)}
        summary = self._tables.get(logical_name)
        if summary is None:
            raise InvalidArgumentError(f"Table {logical_name!r} is not available through this connector.")
        return summary

    async def _clear(self, column: ColumnMetadata, navigation: dict[str, str], record_id: str | None) -> LookupBinding:
        """Null on the navigation property of the table the lookup currently points at (polymorphic lookups have
        one per target); the first one when that cannot be read."""
        chosen = next(iter(navigation))
        if len(navigation) > 1 and record_id is not None:
            wire = f"_{column.logical_name}_value"
            try:
                row = await self.call.client.retrieve(self.metadata.table.entity_set, record_id, select=[wire])
            except webapi_errors.DataverseError:
                row = {}
            current = row.get(f"{wire}@Microsoft.Dynamics.CRM.lookuplogicalname")
            chosen = current if current in navigation else chosen
        return LookupBinding(column.logical_name, navigation[chosen], None, None)

    async def _find_by_id(self, where: str, navigation: dict[str, str], table: str | None,
                          record_id: str) -> LookupTarget:
        if table is not None:
            return LookupTarget(table, record_id)
        if len(navigation) == 1:
            return LookupTarget(next(iter(navigation)), record_id)
        for candidate in navigation:  # probe each target table the user can read
            if not table_allowed(self.call.settings, candidate):
                continue
            summary = await self._table(candidate)
            try:
                row = await self.call.client.retrieve(summary.entity_set, record_id, select=[summary.primary_id])
            except webapi_errors.NotFoundError:
                continue
            except webapi_errors.DataverseError as exc:
                raise translate_dataverse_error(exc, Target(table=candidate, record_id=record_id)) from exc
            if row:
                return LookupTarget(candidate, record_id)
        raise LookupNotFoundError(
            f"No {' or '.join(navigation)} record with id {record_id} is visible to the signed-in user for {where}. "
            f"Check the id, or give the table: {{\"table\": \"{next(iter(navigation))}\", \"id\": \"...\"}}."
        )

    async def _find_by_name(self, where: str, tables: list[str], name: str) -> LookupTarget:
        wanted = " ".join(name.split())
        searchable = [table for table in tables if table_allowed(self.call.settings, table)]
        found: list[LookupTarget] = []
        for table in searchable:
            summary = await self._table(table)
            if not summary.primary_name:
                continue
            with dataverse_errors(table=table):
                page = await self.call.client.query(
                    summary.entity_set, select=[summary.primary_id, summary.primary_name],
                    filter=f"startswith({summary.primary_name},{quote_string(wanted)})",
                    orderby=summary.primary_name, top=NAME_SEARCH_LIMIT, annotations=False,
                )
            found += [LookupTarget(table, format_guid(str(row[summary.primary_id])), row.get(summary.primary_name))
                      for row in page.rows if row.get(summary.primary_id)]
        exact = [target for target in found if " ".join((target.name or "").split()).casefold() == wanted.casefold()]
        matches = exact or found
        if len(matches) == 1:
            return matches[0]
        if not matches:
            first = searchable[0] if searchable else tables[0]
            raise LookupNotFoundError(
                f"No {' or '.join(searchable or tables)} record whose name is or starts with {wanted!r} is visible "
                f"to the signed-in user for {where}. Search with query_records(table={first!r}, "
                f"filter=\"contains(<name column>,'...')\") and pass the id as {{\"table\": ..., \"id\": ...}}."
            )
        listed = "; ".join(f"{target.name!r} ({target.table} {target.id})" for target in matches[:LISTED_CANDIDATES])
        more = f" and {len(matches) - LISTED_CANDIDATES} more" if len(matches) > LISTED_CANDIDATES else ""
        raise AmbiguousValueError(
            f"{wanted!r} matches more than one record for {where}: {listed}{more}. Ask the user which one, then "
            "pass it as {\"table\": \"<table>\", \"id\": \"<id>\"}."
        )


def parse_lookup_value(value: Any, *, where: str, targets: list[str]) -> tuple[str | None, str | None, str | None]:
    """(table or None, id or "me" or None, name or None) from one of the accepted forms; raises for anything else."""
    forms = ('{"table": "<table>", "id": "<guid>"}, {"table": "<table>", "name": "<name>"}, a name, a GUID, '
             '"me", or null')
    table: str | None = None
    if isinstance(value, str):
        text = value.strip()
        bind = _BIND_PATH.match(text)
        if bind:
            raise InvalidValueError(f"{where}: give {{\"table\": \"<logical name>\", \"id\": \"{bind.group(2)}\"}} "
                                    "rather than an entity set path.")
        if not text:
            raise InvalidValueError(f"{where} takes {forms}.")
        try:
            return None, format_guid(text), None
        except ValueError:
            pass
        return None, (text if text.casefold() in ME_WORDS else None), (None if text.casefold() in ME_WORDS else text)
    well_formed = isinstance(value, dict) and not set(value) - {"table", "id", "name"}
    if not well_formed or not (value.get("id") or value.get("name")):
        raise InvalidValueError(f"{where} takes {forms}. Its target table(s): {', '.join(targets)}.")
    if value.get("table") is not None:
        table = str(value["table"]).strip().lower()
        if table not in targets:
            raise InvalidValueError(f"{where} cannot point at a {table!r} record; it takes {', '.join(targets)}.")
    if value.get("id"):
        raw = str(value["id"]).strip()
        if raw.casefold() in ME_WORDS:
            return table, raw, None
        try:
            return table, format_guid(raw), None
        except ValueError:
            raise InvalidValueError(f"{where}: {raw!r} is not a record id (a GUID). To search by name, send "
                                    f"{{\"table\": ..., \"name\": {raw!r}}}.") from None
    return table, None, str(value["name"])
