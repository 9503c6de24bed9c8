"""OData system query options for entity-set collections: validation of option names, `$select`, `$orderby`, `$top`,
`$count`, `$expand` (with nested `$select`), and paging with `$skiptoken` cookies shaped as Dataverse's.

`$filter` is compiled by odata_filter.compile_filter; this module only decides what to do with its predicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from dataverse.sandbox.dataverse.model import LookupValue, ManyToOne, OneToMany, Row, SandboxError, Table

BAD_QUERY = "0x80060888"
SUPPORTED = frozenset({"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken", "$apply"})
NOT_SUPPORTED = frozenset({"$skip", "$search", "$format"})
_COOKIE = re.compile(r'<cookie\s+pagenumber="(\d+)"\s+pagingcookie="([^"]*)"\s+istracking="(?:True|False)"\s*/>')
_INNER_LAST = re.compile(r'last="\{?([0-9A-Fa-f-]{36})\}?"')


def unknown_property(table: Table, name: str) -> SandboxError:
    return SandboxError(400, BAD_QUERY, f"Could not find a property named '{name}' on type "
                                        f"'Microsoft.Dynamics.CRM.{table.logical_name}'.")


def check_option_names(params: list[tuple[str, str]]) -> dict[str, str]:
    """The system query options by name; rejects unsupported, unknown (case-sensitive) and repeated ones."""
    options: dict[str, str] = {}
    for name, value in params:
        if not name.startswith("$"):
            continue  # custom options and parameter aliases (@p1) are not system query options
        if name in NOT_SUPPORTED or name not in SUPPORTED:
            raise SandboxError(400, BAD_QUERY, f"The query parameter {name} is not supported")
        if name in options:
            raise SandboxError(400, BAD_QUERY, f"Query option '{name}' was specified more than once, "
                                               "but it must be specified at most once.")
        options[name] = value
    return options


def parse_select(table: Table, text: str | None) -> list[str] | None:
    """Logical names selected, in order; None means all columns. An empty item (`$select=name,`) is ignored, as
    Dataverse ignores it (web-api-basic-operations-sample.md sends `$select=name,&$expand=...`)."""
    if text is None or not text.strip():
        return None
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        column = table.column(name)
        if column is None or not column.valid_for_read:
            raise unknown_property(table, name)
        if column.logical_name not in names:
            names.append(column.logical_name)
    return names or None


def readable_columns(table: Table) -> list[str]:
    return [name for name, column in table.columns.items() if column.valid_for_read]


def select_context(table: Table, selected: list[str] | None, expands: list[Expand]) -> str:
    """The `(a,b,nav(c,nested(d)))` part of @odata.context."""
    parts = [f"_{n}_value" if table.columns[n].is_lookup else n for n in (selected or [])]
    for expand in expands:
        target = expand.target
        inner = [f"_{n}_value" if target is not None and target.columns[n].is_lookup else n
                 for n in (expand.select or [])]
        nested = select_context(target, None, expand.expands) if target is not None and expand.expands else ""
        if nested:
            inner.append(nested[1:-1])
        parts.append(f"{expand.navigation}({','.join(inner)})")
    return f"({','.join(parts)})" if parts else ""


def parse_orderby(table: Table, text: str | None) -> list[tuple[str, bool]]:
    """(logical name, descending) pairs."""
    if text is None or not text.strip():
        return []
    order: list[tuple[str, bool]] = []
    for clause in text.split(","):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise SandboxError(400, BAD_QUERY, f"Syntax error in $orderby clause '{clause.strip()}'.")
        column = table.column(words[0])
        if column is None:
            raise unknown_property(table, words[0])
        order.append((column.logical_name, len(words) == 2 and words[1] == "desc"))
    return order


def _sort_key(value: object) -> tuple[int, object]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    if isinstance(value, LookupValue):
        return (1, value.id)
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def sort_rows(table: Table, rows: list[Row], order: list[tuple[str, bool]]) -> list[Row]:
    """Rows ordered by the clauses, then by primary id (SQL Server returns NULLs first ascending)."""
    result = sorted(rows, key=lambda row: str(row.get(table.primary_id, "")))
    for name, descending in reversed(order):
        result.sort(key=lambda row: _sort_key(row.get(name)), reverse=descending)
    return result


def parse_top(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit():
        raise SandboxError(400, BAD_QUERY, f"Invalid value '{text}' for $top query option found. "
                                           "The $top query option requires a non-negative integer value.")
    return int(text)


def parse_count(text: str | None) -> bool:
    if text is None:
        return False
    if text not in ("true", "false"):
        raise SandboxError(400, BAD_QUERY, f"'{text}' is not a valid count option.")
    return text == "true"


@dataclass
class Expand:
    navigation: str
    select: list[str] | None
    target: Table | None = None  # single-valued: the referenced table (None for ownerid, which is polymorphic)
    many_to_one: list[ManyToOne] = field(default_factory=list)
    one_to_many: OneToMany | None = None
    filter_text: str | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # collection-valued only, like top
    top: int | None = None
    expands: list[Expand] = field(default_factory=list)  # a nested $expand
    options: dict[str, str] = field(default_factory=dict)  # the nested options as written, for <nav>@odata.nextLink


EXPAND_LIMIT = 15
NESTED_EXPAND_ONLY = ("Only $select and $filter clause can be provided while doing $expand on many-to-one "
                      "relationship or nested one-to-many relationship.")


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, current, quoted = [], 0, "", False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise SandboxError(400, BAD_QUERY, f"Syntax error in $expand '{text}': unbalanced parentheses.")
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def parse_expand(table: Table, text: str | None, tables: dict[str, Table]) -> list[Expand]:
    """The `$expand` items, with nested options and nested `$expand` (PD webapi/query/join-tables.md): at most 15
    expands in all; `$orderby`/`$top` only on collection-valued navigations, and not once any `$expand` nests."""
    expands = _parse_expand_level(table, text, tables, [0])
    if _nests(expands) and _orders_or_tops(expands):
        raise SandboxError(400, BAD_QUERY, NESTED_EXPAND_ONLY)
    return expands


def _nests(expands: list[Expand]) -> bool:
    return any(expand.expands for expand in expands)


def _orders_or_tops(expands: list[Expand]) -> bool:
    return any(expand.order or expand.top is not None or _orders_or_tops(expand.expands) for expand in expands)


def _parse_expand_level(table: Table, text: str | None, tables: dict[str, Table], count: list[int]) -> list[Expand]:
    if text is None or not text.strip():
        return []
    expands = []
    for item in _split_top_level(text):
        count[0] += 1
        if count[0] > EXPAND_LIMIT:
            raise SandboxError(400, BAD_QUERY, "Number of link entities in query exceeded maximum limit.")
        match = re.fullmatch(r"([A-Za-z_][\w]*)\s*(?:\((.*)\))?", item, re.S)
        if match is None:
            raise SandboxError(400, BAD_QUERY, f"Syntax error in $expand at '{item}'.")
        navigation, nested = match.group(1), match.group(2)
        many = [rel for rel in table.many_to_one if rel.navigation_property == navigation]
        one = next((rel for rel in table.one_to_many if rel.navigation_property == navigation), None)
        if not many and one is None:
            raise unknown_property(table, navigation)
        target_name = many[0].referenced_entity if len(many) == 1 else (one.referencing_entity if one else None)
        target = tables[target_name] if target_name else None
        options = dict(_nested_option(part) for part in _split_top_level(nested, ";")) if nested else {}
        allowed = ("$select", "$filter", "$orderby", "$top", "$expand") if one is not None else (
            "$select", "$filter", "$expand")
        for name in options:
            if name in ("$orderby", "$top") and one is None:
                raise SandboxError(400, BAD_QUERY, NESTED_EXPAND_ONLY)
            if name not in allowed:
                raise SandboxError(400, BAD_QUERY, f"The query parameter {name} is not supported in $expand of "
                                                   f"'{navigation}'")
        select = None
        if target is not None:
            select = parse_select(target, options.get("$select"))
        elif "$select" in options:
            select = [name.strip() for name in options["$select"].split(",") if name.strip()]
        if "$expand" in options and target is None:
            raise SandboxError(400, BAD_QUERY, f"A nested $expand is not supported on the polymorphic navigation "
                                               f"property '{navigation}'.")
        expand = Expand(navigation, select, target, many, one, filter_text=options.get("$filter"), options=options)
        if target is not None:
            expand.expands = _parse_expand_level(target, options.get("$expand"), tables, count)
        if one is not None and target is not None:
            expand.order = parse_orderby(target, options.get("$orderby"))
            expand.top = parse_top(options.get("$top"))
        expands.append(expand)
    return expands


def _nested_option(part: str) -> tuple[str, str]:
    name, _, value = part.strip().partition("=")
    return name.strip(), value


# --- paging ----------------------------------------------------------------------------------------------------------

def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)


def build_skiptoken(table: Table, page_rows: list[Row], next_page: int) -> str:
    """The `$skiptoken` query value (already URL-encoded) for page `next_page`, as Dataverse writes it."""
    first = str(page_rows[0][table.primary_id]).upper()
    last = str(page_rows[-1][table.primary_id]).upper()
    inner = f'<cookie page="{next_page - 1}"><{table.primary_id} last="{{{last}}}" first="{{{first}}}" /></cookie>'
    encoded = _lower_hex(quote(inner, safe=""))
    cookie = f'<cookie pagenumber="{next_page}" pagingcookie="{encoded}" istracking="False" />'
    return quote(cookie, safe="=/")


@dataclass(frozen=True)
class PagePosition:
    page_number: int
    last_id: str | None


def parse_skiptoken(text: str | None) -> PagePosition:
    """Where a `$skiptoken` (as received, i.e. decoded once) says the next page starts."""
    if text is None:
        return PagePosition(1, None)
    match = _COOKIE.fullmatch(text.strip())
    if match is None:
        raise SandboxError(400, BAD_QUERY, "The $skiptoken value is not valid. Do not edit the @odata.nextLink URL.")
    inner = unquote(match.group(2))
    last = _INNER_LAST.search(inner)
    return PagePosition(int(match.group(1)), last.group(1).lower() if last else None)


def page_of(table: Table, rows: list[Row], position: PagePosition, size: int) -> tuple[list[Row], bool]:
    """The rows of the page `position` points at, and whether more follow."""
    start = (position.page_number - 1) * size
    if position.last_id is not None:
        for index, row in enumerate(rows):
            if str(row.get(table.primary_id)) == position.last_id:
                start = index + 1
                break
    page = rows[start:start + size]
    return page, start + size < len(rows)


def strip_skiptoken(raw_query: str) -> str:
    """The raw query string without any `$skiptoken` parameter (kept otherwise byte for byte)."""
    kept = [part for part in raw_query.split("&") if part and not unquote(part).startswith("$skiptoken=")]
    return "&".join(kept)
