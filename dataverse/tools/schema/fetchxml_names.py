"""The names in a FetchXML query, checked against the environment's schema, so a guessed table or column gets the
nearest real names instead of Dataverse's "not found in the MetadataCache".

Tables are checked before the query is sent (the table list is cached for a day): a `<entity name='opportunities'>`
names an entity set, and FetchXML takes the logical name. Columns are checked only after Dataverse refuses a query,
so a good query costs nothing extra."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidFetchXmlQueryError, nearest_names
from dataverse.tools.schema.lookup import list_tables, resolve_columns
from dataverse.tools.schema.policy import require_table_allowed
from dataverse.tools.schema.selection import columns_by_name
from dataverse.webapi.models import TableSummary


def tables_of(root: Element) -> Iterator[Element]:
    """The <entity> and every <link-entity> of a query."""
    return (element for element in root.iter() if element.tag in ("entity", "link-entity"))


async def check_fetchxml_tables(call: ToolCall, root: Element) -> TableSummary:
    """Every table the query names is allowed and named by its logical name; returns the main entity's table."""
    tables = await list_tables(call)
    by_logical = {table.logical_name: table for table in tables}
    by_set = {table.entity_set.lower(): table for table in tables}
    main: TableSummary | None = None
    for element in tables_of(root):
        name = element.get("name", "")
        require_table_allowed(call.settings, name)
        found = by_logical.get(name)
        if found is None:
            tag = element.tag
            if name.lower() in by_set:
                logical = by_set[name.lower()].logical_name
                raise InvalidFetchXmlQueryError(
                    f"<{tag} name='{name}'> names an entity set; FetchXML takes the table's logical name: "
                    f"<{tag} name='{logical}'>.")
            close = nearest_names(name, by_logical)
            hint = f" Did you mean: {', '.join(close)}?" if close else " list_tables shows the logical names."
            raise InvalidFetchXmlQueryError(f"<{tag} name='{name}'>: there is no such table.{hint}")
        if element.tag == "entity":
            main = found
    if main is None:  # validate_fetch_xml guarantees one <entity>
        raise InvalidFetchXmlQueryError("FetchXML needs one <entity name='...'> under <fetch>.")
    return main


async def diagnose_columns(call: ToolCall, root: Element) -> InvalidFetchXmlQueryError | None:
    """The first column name the query gets wrong, with the nearest real ones; None when every name exists."""
    aggregate = root.get("aggregate", "").lower() == "true"
    for element in tables_of(root):
        table = element.get("name", "")
        columns = columns_by_name(await resolve_columns(call, table))
        for attribute, where in _column_references(element, aggregate):
            if attribute not in columns:
                close = nearest_names(attribute, columns, limit=3)
                hint = f" Did you mean: {', '.join(close)}?" if close else f" describe_table('{table}') lists them."
                return InvalidFetchXmlQueryError(f"{where}: {table} has no column '{attribute}'.{hint}")
        if element.tag == "link-entity" and element.get("from") and element.get("from") not in columns:
            close = nearest_names(element.get("from", ""), columns, limit=3)
            return InvalidFetchXmlQueryError(
                f"<link-entity name='{table}' from='{element.get('from')}'>: 'from' is a column of {table}; "
                f"nearest: {', '.join(close) or 'none'}.")
    return None


def _column_references(entity: Element, aggregate: bool) -> Iterator[tuple[str, str]]:
    """(column, where it is written) for the attributes, conditions and orders that belong to this entity (not to a
    nested link-entity, and not conditions that name another entity or an aggregate alias)."""
    stack = list(entity)
    while stack:
        element = stack.pop()
        if element.tag == "link-entity":
            continue
        name = element.get("attribute") if element.tag in ("condition", "order") else element.get("name")
        if element.tag == "attribute" and name:
            yield name, f"<attribute name='{name}'>"
        elif element.tag == "condition" and name and not element.get("entityname"):
            yield name, f"<condition attribute='{name}'>"
        elif element.tag == "order" and name and not (aggregate and element.get("alias")):
            yield name, f"<order attribute='{name}'>"
        if element.tag == "filter":
            stack.extend(element)
