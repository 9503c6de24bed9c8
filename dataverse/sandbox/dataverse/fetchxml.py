"""The sandbox's FetchXML engine: run a `<fetch>` against a Dataset and return one page of rows.

Owns joins (`link-entity` inner/outer and the filtering link types any, not any, all, not all, exists, in), output
naming (root columns by logical name, link-entity columns as "<alias>.<column>", an attribute alias replaces the
name), ordering (nulls first, choices by value, the primary id as the last tie-breaker), paging (`count`, `page`,
`paging-cookie`, `top`) and dispatch to fetchxml_aggregate for aggregate queries. Parsing lives in fetchxml_parse,
condition operators in fetchxml_conditions. Every failure is a model.SandboxError.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree as SafeTree

from dataverse.sandbox.dataverse.fetchxml_aggregate import aggregate_attributes, aggregate_rows, compare_values
from dataverse.sandbox.dataverse.fetchxml_conditions import Record, compile_filters
from dataverse.sandbox.dataverse.fetchxml_parse import MAX_PAGE_SIZE, EntitySpec, FetchSpec, LinkSpec, parse_fetch
from dataverse.sandbox.dataverse.model import Column, Dataset, QueryContext, Row, SandboxError, Table
from dataverse.sandbox.dataverse.odata_semantics import read_cell

SEMI_JOINS = frozenset({"any", "not any", "all", "not all", "exists", "in"})


@dataclass
class FetchResult:
    table: Table  # the root entity's table
    rows: list[dict[str, Any]]  # non-null values only, as Dataverse omits null columns from FetchXML results
    aggregate: bool
    more_records: bool
    # <cookie page="N"><col last=".." first=".."/>...<pk last="{GUID}" first="{GUID}"/></cookie>
    paging_cookie: str | None
    columns: dict[str, Column]  # output key -> source Column


def run_fetch(xml: str, dataset: Dataset, ctx: QueryContext) -> FetchResult:
    """Run the FetchXML query `xml` as the caller described by `ctx` and return the requested page."""
    try:
        spec = parse_fetch(xml, dataset)
        return _Runner(spec, dataset, ctx).run()
    except SandboxError:
        raise
    except RecursionError:
        raise SandboxError(400, "0x80040201", "The FetchXML is nested too deeply.") from None


class _Runner:
    def __init__(self, spec: FetchSpec, dataset: Dataset, ctx: QueryContext):
        self.spec, self.dataset, self.ctx = spec, dataset, ctx
        self.tables: dict[str, Table] = {}
        self._indexes: dict[int, dict[Any, list[Row]]] = {}
        self._sources: dict[str, tuple[str, Column]] = {}  # output key -> (entity alias, column)
        self._collect_tables(spec.entity)

    def _collect_tables(self, entity: EntitySpec) -> None:
        self.tables[entity.alias] = entity.table
        for link in entity.links:
            self._collect_tables(link)

    # ---- pipeline ----
    def run(self) -> FetchResult:
        root = self.spec.entity
        records: list[Record] = [{root.alias: row} for row in self.dataset.rows(root.table.logical_name)]
        records = self._join(records, root)
        test = compile_filters(root.filters, self.tables, self.ctx)
        records = [record for record in records if test(record) is True]
        if self.spec.aggregate:
            rows = aggregate_rows(records, root, self.ctx, limit=self.spec.aggregate_limit)
            columns = {attribute.alias or "": attribute.column for _, attribute in aggregate_attributes(root)}
            page_rows, more = self._page_slice(rows)
            return FetchResult(root.table, page_rows, True, more, None, columns)
        records.sort(key=functools.cmp_to_key(self._compare_records))
        columns = self._output_columns(root, root.alias, is_root=True)
        rows = [self._shape(record, columns) for record in records]
        if self.spec.distinct:
            rows = _distinct(rows)
        start = self._cookie_start(records) if not self.spec.distinct else None
        page_rows, more = self._page_slice(rows, start=start)
        cookie = None
        if page_rows and not self.spec.distinct and self.spec.top is None:
            cookie = self._cookie(page_rows)
        return FetchResult(root.table, page_rows, False, more, cookie, columns)

    # ---- joins ----
    def _join(self, records: list[Record], entity: EntitySpec) -> list[Record]:
        for link in entity.links:
            joined: list[Record] = []
            for record in records:
                parent = record.get(entity.alias)
                if link.link_type in SEMI_JOINS:
                    if self._semi_join(link, parent):
                        joined.append(record)
                    continue
                parts = self._expand(link, parent)
                if parts:
                    joined.extend({**record, **part} for part in parts)
                elif link.link_type == "outer":
                    joined.append({**record, **{alias: None for alias in _aliases(link)}})
            records = joined
        return records

    def _candidates(self, link: LinkSpec, parent: Row | None) -> list[Row]:
        if parent is None:
            return []
        assert link.from_column is not None and link.to_column is not None
        key = read_cell(parent, link.to_column)
        if key is None:
            return []
        index = self._index(link)
        return index.get(_fold(key), [])

    def _index(self, link: LinkSpec) -> dict[Any, list[Row]]:
        """The linked table's rows by their `from` value, built once per link per query."""
        assert link.from_column is not None
        if id(link) in self._indexes:
            return self._indexes[id(link)]
        index: dict[Any, list[Row]] = self._indexes.setdefault(id(link), {})
        for row in self.dataset.rows(link.table.logical_name):
            value = read_cell(row, link.from_column)
            if value is not None:
                index.setdefault(_fold(value), []).append(row)
        return index

    def _expand(self, link: LinkSpec, parent: Row | None) -> list[Record]:
        """This link's matching rows (its filters as join conditions), joined with its own nested links."""
        test = compile_filters(link.filters, self.tables, self.ctx)
        candidates: list[Record] = [{link.alias: row} for row in self._candidates(link, parent)]
        matches = [record for record in candidates if test(record) is True]
        return self._join(matches, link)

    def _semi_join(self, link: LinkSpec, parent: Row | None) -> bool:
        if link.link_type in ("any", "exists", "in"):
            return bool(self._expand(link, parent))
        if link.link_type == "not any":
            return not self._expand(link, parent)
        test = compile_filters(link.filters, self.tables, self.ctx)
        failing = [row for row in self._candidates(link, parent) if test({link.alias: row}) is not True]
        return not failing if link.link_type == "all" else bool(failing)

    # ---- output ----
    def _output_columns(self, entity: EntitySpec, alias: str, *, is_root: bool) -> dict[str, Column]:
        columns: dict[str, Column] = {}
        selected = entity.attributes
        if entity.all_attributes or (is_root and not selected):
            for column in entity.table.columns.values():
                columns[column.logical_name if is_root else f"{alias}.{column.logical_name}"] = column
        for attribute in selected:
            name = attribute.column.logical_name
            key = attribute.alias or (name if is_root else f"{alias}.{name}")
            columns[key] = attribute.column
        if is_root and not self.spec.distinct:
            primary = entity.table.primary_id
            primary_column = entity.table.columns.get(primary) or Column(primary, "Uniqueidentifier", primary)
            columns.setdefault(primary, primary_column)
        for link in entity.links:
            if link.link_type in ("inner", "outer"):
                columns.update(self._output_columns(link, link.alias, is_root=False))
        for key, column in columns.items():
            self._sources.setdefault(key, (alias, column))
        return columns

    def _shape(self, record: Record, columns: dict[str, Column]) -> dict[str, Any]:
        shaped: dict[str, Any] = {}
        for key in columns:
            alias, column = self._sources[key]
            row = record.get(alias)
            value = None if row is None else row.get(column.logical_name)
            if value is not None:
                shaped[key] = value
        return shaped

    # ---- ordering and paging ----
    def _orders(self) -> list[tuple[str, Column, bool]]:
        found: list[tuple[str, Column, bool]] = []
        pending: list[EntitySpec] = [self.spec.entity]
        while pending:
            entity = pending.pop(0)
            found.extend((entity.alias, order.column, order.descending) for order in entity.orders if order.column)
            pending.extend(link for link in entity.links if link.link_type in ("inner", "outer"))
        root = self.spec.entity
        found.append((root.alias, root.table.columns.get(root.table.primary_id)
                      or Column(root.table.primary_id, "Uniqueidentifier", root.table.primary_id), False))
        return found

    def _compare_records(self, a: Record, b: Record) -> int:
        for alias, column, descending in self._sort_orders:
            row_a, row_b = a.get(alias), b.get(alias)
            left = None if row_a is None else read_cell(row_a, column)
            right = None if row_b is None else read_cell(row_b, column)
            result = compare_values(left, right)
            if result:
                return -result if descending else result
        return 0

    @functools.cached_property
    def _sort_orders(self) -> list[tuple[str, Column, bool]]:
        return self._orders()

    def _page_slice(self, rows: list[dict[str, Any]], *, start: int | None = None) -> tuple[list[dict[str, Any]], bool]:
        spec = self.spec
        if spec.top is not None:
            return rows[: spec.top], False
        size = spec.count or MAX_PAGE_SIZE
        first = start if start is not None else ((spec.page or 1) - 1) * size
        page = rows[first : first + size]
        return page, len(rows) > first + size

    def _cookie_start(self, records: list[Record]) -> int | None:
        """Where the page after the paging cookie's last row begins; None to fall back to simple paging."""
        cookie = self.spec.paging_cookie
        if not cookie or (self.spec.page or 1) < 2:
            return None
        root = self.spec.entity
        try:
            element = SafeTree.fromstring(cookie, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (SafeTree.ParseError, ValueError):  # a malformed cookie is ignored: Dataverse then pages simply
            return None
        node = element.find(root.table.primary_id)
        last = (node.get("last") or "").strip("{}").lower() if node is not None else ""
        if not last:
            return None
        positions = [i for i, record in enumerate(records)
                     if str((record.get(root.alias) or {}).get(root.table.primary_id, "")).lower() == last]
        return positions[-1] + 1 if positions else None

    def _cookie(self, page_rows: list[dict[str, Any]]) -> str:
        root = self.spec.entity
        primary = root.table.primary_id
        parts = [f'<cookie page="{self.spec.page or 1}">']
        for alias, column, _ in self._sort_orders[:-1]:
            if alias != root.alias:
                continue
            first, last = page_rows[0].get(column.logical_name), page_rows[-1].get(column.logical_name)
            parts.append(f'<{column.logical_name} last="{_attr(last)}" first="{_attr(first)}" />')
        first_id, last_id = page_rows[0].get(primary, ""), page_rows[-1].get(primary, "")
        parts.append(f'<{primary} last="{{{str(last_id).upper()}}}" first="{{{str(first_id).upper()}}}" />')
        parts.append("</cookie>")
        return "".join(parts)


def _aliases(link: LinkSpec) -> list[str]:
    found = [link.alias]
    for child in link.links:
        if child.link_type in ("inner", "outer"):
            found.extend(_aliases(child))
    return found


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _attr(value: Any) -> str:
    if value is None:
        return ""
    text = getattr(value, "id", value)
    return html.escape(str(text), quote=True)


def _distinct(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    unique: list[dict[str, Any]] = []
    for row in rows:
        key = tuple(sorted((k, repr(v)) for k, v in row.items()))
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique
