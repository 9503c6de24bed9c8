"""Reading a FetchXML document into a checked query description, refusing what Dataverse refuses.

Owns: safe XML parsing (defusedxml: no DTDs, no entities, a size limit), the element/attribute vocabulary of
`<fetch>`, `<entity>`, `<link-entity>`, `<attribute>`, `<all-attributes>`, `<order>`, `<filter>`, `<condition>` and
`<value>`, name checks against the Dataset's tables, and the Dataverse-shaped errors for all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree

from dataverse.sandbox.dataverse.model import Column, Dataset, SandboxError, Table

MAX_FETCH_LENGTH = 65_536
MAX_LINK_ENTITIES = 15
MAX_PAGE_SIZE = 5_000
INVALID_ARGUMENT = "0x80040203"
INVALID_XML = "0x80040201"
UNKNOWN_ENTITY = "0x80040217"
UNKNOWN_ATTRIBUTE = "0x80041103"
TOO_MANY_LINKS = "0x8004430D"
LINK_TYPES = frozenset({"inner", "outer", "any", "not any", "all", "not all", "exists", "in"})
AGGREGATES = frozenset({"count", "countcolumn", "sum", "avg", "min", "max"})
DATE_GROUPINGS = frozenset({"day", "week", "month", "quarter", "year"})


@dataclass
class AttributeSpec:
    column: Column
    alias: str | None = None
    aggregate: str | None = None
    groupby: bool = False
    dategrouping: str | None = None
    distinct: bool = False


@dataclass
class OrderSpec:
    column: Column | None
    alias: str | None
    descending: bool


@dataclass
class ConditionSpec:
    column: Column
    operator: str
    value: str | None
    values: list[str]
    entity_alias: str  # the alias of the entity or link-entity whose row the condition reads


@dataclass
class FilterSpec:
    type: str  # and | or
    items: list[ConditionSpec | FilterSpec] = field(default_factory=list)


@dataclass
class EntitySpec:
    table: Table
    alias: str
    attributes: list[AttributeSpec] = field(default_factory=list)
    all_attributes: bool = False
    orders: list[OrderSpec] = field(default_factory=list)
    filters: list[FilterSpec] = field(default_factory=list)
    links: list[LinkSpec] = field(default_factory=list)


@dataclass
class LinkSpec(EntitySpec):
    from_column: Column | None = None  # on this (linked) table
    to_column: Column | None = None  # on the parent table
    link_type: str = "inner"


@dataclass
class FetchSpec:
    entity: EntitySpec
    top: int | None = None
    count: int | None = None
    page: int | None = None
    paging_cookie: str | None = None
    aggregate: bool = False
    distinct: bool = False
    aggregate_limit: int | None = None


def fetch_error(message: str, code: str = INVALID_ARGUMENT) -> SandboxError:
    return SandboxError(400, code, message)


def parse_fetch(xml: str, dataset: Dataset) -> FetchSpec:
    if not isinstance(xml, str) or not xml.strip():
        raise fetch_error("The fetchXml parameter is empty.", INVALID_XML)
    if len(xml) > MAX_FETCH_LENGTH:
        raise fetch_error(f"The FetchXML is longer than {MAX_FETCH_LENGTH} characters.", INVALID_XML)
    try:
        root = SafeTree.fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (SafeTree.ParseError, ValueError) as error:  # DTDForbidden and EntitiesForbidden are ValueErrors
        raise fetch_error(f"Invalid XML. The FetchXML is not well-formed or uses a forbidden construct: "
                          f"{type(error).__name__}.", INVALID_XML) from None
    return _Reader(dataset).fetch(root)


class _Reader:
    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.link_count = 0
        self.aliases: set[str] = set()

    def fetch(self, root: Element) -> FetchSpec:
        if root.tag != "fetch":
            raise fetch_error(f"The root element of a FetchXML query must be 'fetch', not '{root.tag}'.", INVALID_XML)
        entities = [child for child in root if child.tag == "entity"]
        if len(entities) != 1:
            raise fetch_error("The fetch element must contain exactly one entity element.", INVALID_XML)
        for child in root:
            if child.tag != "entity":
                raise fetch_error(f"The element '{child.tag}' is not valid in 'fetch'.", INVALID_XML)
        spec = FetchSpec(entity=EntitySpec(self._table(entities[0]), ""))
        spec.aggregate = _flag(root, "aggregate")
        spec.distinct = _flag(root, "distinct")
        spec.top = _number(root, "top", 1, MAX_PAGE_SIZE)
        spec.count = _number(root, "count", 1, MAX_PAGE_SIZE)
        spec.page = _number(root, "page", 1, 10**9)
        spec.aggregate_limit = _number(root, "aggregatelimit", 1, 50_000)
        spec.paging_cookie = root.get("paging-cookie") or None
        if spec.top is not None and (spec.count is not None or spec.page is not None):
            raise fetch_error("The 'top' attribute can't be specified with paging attribute 'count' or 'page'. "
                              "Use one or the other.")
        table = spec.entity.table
        spec.entity = EntitySpec(table, table.logical_name)
        self.aliases.add(table.logical_name)
        self._fill(spec.entity, entities[0], spec.aggregate)
        return spec

    def _table(self, element: Element) -> Table:
        name = element.get("name")
        if not name:
            raise fetch_error(f"The '{element.tag}' element requires a 'name' attribute.", INVALID_XML)
        try:
            return self.dataset.table(name)
        except KeyError:
            raise fetch_error(f"The entity with a name = '{name}' with namemapping = 'Logical' was not found in "
                              f"the MetadataCache.", UNKNOWN_ENTITY) from None

    def _column(self, table: Table, name: str | None) -> Column:
        column = table.columns.get(name or "")
        if column is None:
            raise fetch_error(f"'{table.logical_name}' entity doesn't contain attribute with Name = '{name}' and "
                              f"NameMapping = 'Logical'.", UNKNOWN_ATTRIBUTE)
        return column

    def _fill(self, entity: EntitySpec, element: Element, aggregate: bool) -> None:
        for child in element:
            tag = child.tag
            if tag == "attribute":
                entity.attributes.append(self._attribute(entity.table, child, aggregate))
            elif tag == "all-attributes":
                if aggregate:
                    raise fetch_error("The all-attributes element can't be used in an aggregate query.")
                entity.all_attributes = True
            elif tag == "order":
                entity.orders.append(self._order(entity.table, child, aggregate))
            elif tag == "filter":
                entity.filters.append(self._filter(entity, child))
            elif tag == "link-entity":
                entity.links.append(self._link(entity, child, aggregate))
            else:
                raise fetch_error(f"The element '{tag}' is not valid in '{element.tag}'.", INVALID_XML)

    def _attribute(self, table: Table, element: Element, aggregate: bool) -> AttributeSpec:
        spec = AttributeSpec(self._column(table, element.get("name")), alias=element.get("alias") or None)
        spec.aggregate = element.get("aggregate")
        spec.groupby = _flag(element, "groupby")
        spec.dategrouping = element.get("dategrouping")
        spec.distinct = _flag(element, "distinct")
        if not aggregate:
            if spec.aggregate or spec.groupby:
                raise fetch_error("The 'aggregate' and 'groupby' attributes require <fetch aggregate=\"true\">.")
            return spec
        if spec.alias is None:
            raise fetch_error(f"An alias is required for the attribute '{spec.column.logical_name}' in an aggregate "
                              f"query: every attribute of an aggregate query needs an alias.")
        if spec.aggregate is not None and spec.aggregate not in AGGREGATES:
            raise fetch_error(f"The aggregate function '{spec.aggregate}' is not valid. Use one of "
                              f"{', '.join(sorted(AGGREGATES))}.")
        if (spec.aggregate is None) == (not spec.groupby):
            raise fetch_error(f"The attribute '{spec.alias}' of an aggregate query must have either an 'aggregate' "
                              f"function or groupby=\"true\".")
        if spec.aggregate in ("sum", "avg") and spec.column.type not in ("Integer", "BigInt", "Money", "Decimal",
                                                                        "Double"):
            raise fetch_error(f"The aggregate function '{spec.aggregate}' can't be used on the column "
                              f"'{spec.column.logical_name}' of type {spec.column.type}.")
        if spec.dategrouping is not None:
            if spec.dategrouping not in DATE_GROUPINGS:
                raise fetch_error(f"The dategrouping value '{spec.dategrouping}' is not supported.")
            if spec.column.type != "DateTime" or not spec.groupby:
                raise fetch_error("dategrouping can only be used on a grouped date and time column.")
        return spec

    def _order(self, table: Table, element: Element, aggregate: bool) -> OrderSpec:
        name, alias = element.get("attribute"), element.get("alias")
        descending = _flag(element, "descending")
        if aggregate:
            if not alias or name:
                raise fetch_error("An order in an aggregate query must name an attribute alias with 'alias'.")
            return OrderSpec(None, alias, descending)
        if alias and not name:
            raise fetch_error("An order with 'alias' is only valid in an aggregate query; use 'attribute'.")
        return OrderSpec(self._column(table, name), None, descending)

    def _filter(self, entity: EntitySpec, element: Element) -> FilterSpec:
        kind = element.get("type", "and")
        if kind not in ("and", "or"):
            raise fetch_error(f"The filter type '{kind}' is not valid; use 'and' or 'or'.")
        spec = FilterSpec(kind)
        for child in element:
            if child.tag == "condition":
                spec.items.append(self._condition(entity, child))
            elif child.tag == "filter":
                spec.items.append(self._filter(entity, child))
            else:
                raise fetch_error(f"The element '{child.tag}' is not valid in 'filter'.", INVALID_XML)
        return spec

    def _condition(self, entity: EntitySpec, element: Element) -> ConditionSpec:
        operator = element.get("operator")
        if not operator:
            raise fetch_error("The condition element requires an 'operator' attribute.", INVALID_XML)
        if element.get("valueof"):
            raise fetch_error("Column comparison conditions (valueof) are not supported by the sandbox Dataverse.")
        alias = element.get("entityname") or entity.alias
        table = entity.table
        if element.get("entityname"):
            table = self._aliased_table(entity, alias)
        values = [(child.text or "") for child in element if child.tag == "value"]
        for child in element:
            if child.tag != "value":
                raise fetch_error(f"The element '{child.tag}' is not valid in 'condition'.", INVALID_XML)
        return ConditionSpec(self._column(table, element.get("attribute")), operator, element.get("value"), values,
                             alias)

    def _aliased_table(self, entity: EntitySpec, alias: str) -> Table:
        pending: list[EntitySpec] = [entity]
        while pending:
            current = pending.pop()
            if current.alias == alias:
                return current.table
            pending.extend(current.links)
        raise fetch_error(f"No link-entity with the alias or name '{alias}' was found for a condition's entityname. "
                          f"The link-entity must come before the filter that names it.")

    def _link(self, parent: EntitySpec, element: Element, aggregate: bool) -> LinkSpec:
        self.link_count += 1
        if self.link_count > MAX_LINK_ENTITIES:
            raise fetch_error("Number of link entities in query exceeded maximum limit.", TOO_MANY_LINKS)
        table = self._table(element)
        link_type = element.get("link-type", "inner")
        if link_type not in LINK_TYPES:
            raise fetch_error(f"The link-type '{link_type}' is not valid.")
        alias = element.get("alias") or f"{table.logical_name}{self.link_count}"
        if alias in self.aliases:
            raise fetch_error(f"The alias '{alias}' is used more than once in the query.")
        self.aliases.add(alias)
        if not element.get("from") or not element.get("to"):
            raise fetch_error("The link-entity element requires 'from' and 'to' attributes.", INVALID_XML)
        link = LinkSpec(table, alias, from_column=self._column(table, element.get("from")),
                        to_column=self._column(parent.table, element.get("to")), link_type=link_type)
        self._fill(link, element, aggregate)
        return link


def _flag(element: Element, name: str) -> bool:
    raw = element.get(name)
    if raw is None:
        return False
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise fetch_error(f"The value '{raw}' of the '{name}' attribute is not a valid boolean.")


def _number(element: Element, name: str, low: int, high: int) -> int | None:
    raw = element.get(name)
    if raw is None:
        return None
    text: Any = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or not low <= int(text) <= high:
        raise fetch_error(f"The '{name}' attribute value '{raw}' is not valid: it must be an integer from {low} to "
                          f"{high}.")
    return int(text)
