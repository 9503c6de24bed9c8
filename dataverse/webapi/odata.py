"""Safe building blocks for OData URLs: quoting, GUIDs, identifiers, record paths, and query-string composition.

Nothing here percent-encodes a path segment "to make it fit": input that could change the request path or add query
parameters is rejected with a ValueError that says what was wrong. Query option values are encoded by
`encode_query`, so a `&` or `#` inside a quoted OData string literal stays part of that literal.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import quote

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LOGICAL_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?\Z")
_ORDERBY_ITEM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*( +(asc|desc))?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_IDENTIFIER_LENGTH = 128
# Characters left as they are in query values: they cannot end a parameter (& = ; + #) and read well in logs.
_QUERY_SAFE = "$,()'*:@/!"


def quote_string(value: str) -> str:
    """An OData string literal: `O'Bryan` -> `'O''Bryan'`."""
    if not isinstance(value, str):
        raise TypeError(f"quote_string expects a str, got {type(value).__name__}")
    return "'" + value.replace("'", "''") + "'"


def format_guid(value: str) -> str:
    """The canonical lower-case form of a GUID (braces allowed); ValueError for anything else."""
    match = _GUID.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        shown = value if isinstance(value, str) and len(value) <= 60 else f"{str(value)[:60]}..."
        raise ValueError(f"{shown!r} is not a record id: expected a GUID like 00000000-0000-0000-0000-000000000000")
    return str(uuid.UUID(match.group(1)))


def validate_identifier(name: str, *, kind: str = "name") -> str:
    """A table, column, entity-set or navigation-property name: letters, digits, underscore; not starting with a digit.

    Navigation properties and some entity sets use capitals (`Account_Tasks`), so case is allowed here; use
    `validate_logical_name` where Dataverse only has lower case.
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or len(name) > MAX_IDENTIFIER_LENGTH:
        raise ValueError(
            f"{_shorten(name)!r} is not a valid {kind}: use letters, digits and underscores only, "
            f"starting with a letter or underscore (e.g. 'account', 'new_projectid')"
        )
    return name


def validate_logical_name(name: str, *, kind: str = "table logical name") -> str:
    """A logical name (always lower case in Dataverse), e.g. `account`, `new_project`."""
    if not isinstance(name, str) or not _LOGICAL_NAME.match(name) or len(name) > MAX_IDENTIFIER_LENGTH:
        raise ValueError(
            f"{_shorten(name)!r} is not a valid {kind}: use lower-case letters, digits and underscores only "
            f"(e.g. 'account', 'new_project')"
        )
    return name


def collection_path(entity_set: str) -> str:
    """The path of an entity set relative to the API root: `accounts`."""
    return validate_identifier(entity_set, kind="entity set name")


def record_path(entity_set: str, record_id: str) -> str:
    """The path of one record relative to the API root: `accounts(<guid>)`."""
    return f"{collection_path(entity_set)}({format_guid(record_id)})"


def select_option(columns: Sequence[str]) -> str:
    """A `$select` value from column names, each validated."""
    if isinstance(columns, str):
        raise TypeError("select expects a sequence of column names, not one string")
    if not columns:
        raise ValueError("select needs at least one column name")
    return ",".join(validate_identifier(column, kind="column name") for column in columns)


def validate_orderby(orderby: str) -> str:
    """`name desc,createdon` style: comma-separated property paths, each optionally followed by asc/desc."""
    items = [item.strip() for item in orderby.split(",")]
    for item in items:
        if not _ORDERBY_ITEM.match(item):
            raise ValueError(
                f"{_shorten(orderby)!r} is not a valid $orderby: use 'column', 'column desc' or "
                f"'lookup/column asc', separated by commas"
            )
    return ",".join(items)


def validate_query_expression(expression: str, *, option: str = "$filter") -> str:
    """Check a `$filter`/`$expand`/`$apply` expression cannot smuggle extra query parameters or a fragment.

    Outside single-quoted string literals `&`, `#` and `?` have no meaning in these expressions, so they are refused
    (they would only appear there as an attempt to end the option early). Control characters are refused everywhere.
    Inside a literal anything printable goes: `name eq 'A&B #1'` is fine, because values are percent-encoded.
    """
    if not isinstance(expression, str):
        raise TypeError(f"{option} expects a str, got {type(expression).__name__}")
    if not expression.strip():
        raise ValueError(f"{option} is empty")
    if _CONTROL.search(expression):
        raise ValueError(f"{option} contains a control character (newline, tab or similar); remove it")
    in_literal = False
    for position, char in enumerate(expression):
        if char == "'":
            in_literal = not in_literal  # a doubled quote '' toggles twice, staying inside the literal
        elif not in_literal and char in "&#?":
            raise ValueError(
                f"{option} has {char!r} outside a quoted string at position {position}: "
                f"pass other query options as their own arguments, and quote string values ('A&B')"
            )
    if in_literal:
        raise ValueError(f"{option} has an unterminated string literal: double a quote inside a string (O''Bryan)")
    return expression


def encode_query(params: Mapping[str, str]) -> str:
    """A query string with `$` option names and `@p1` parameter aliases kept literal and every value percent-encoded
    (spaces as %20, not +)."""
    parts = []
    for name, value in params.items():
        if not re.fullmatch(r"[$@]?[A-Za-z][A-Za-z0-9_.-]*", name):
            raise ValueError(f"{name!r} is not a valid query option name")
        parts.append(f"{name}={quote(str(value), safe=_QUERY_SAFE)}")
    return "&".join(parts)


def _shorten(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
