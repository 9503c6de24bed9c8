"""Arguments are checked before a tool runs, and every refusal is one sentence that names the fix.

- An argument the tool does not take is refused, never dropped: a model that sends `$filter` or `where` to
  query_records must hear that the filter was not applied, not get unfiltered rows it will trust. The refusal names
  the nearest valid parameter (by the spellings models use for OData and SQL, then by closeness).
- A parameter that must come alone (a cursor continues the query it came from) is refused beside any other.
- Out-of-range and wrong-type values get the allowed values and the way forward in words, never a validation
  library's dump.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from dataverse.tools.kit.errors import InvalidArgumentError, nearest_names

# What models write for a parameter, by habit from OData, SQL and other APIs.
COMMON_SPELLINGS: dict[str, tuple[str, ...]] = {
    "filter": ("$filter", "where", "filters", "query_filter", "odata_filter", "condition"),
    "select": ("$select", "columns", "fields", "attributes", "cols"),
    "top": ("$top", "limit", "page_size", "pagesize", "max", "rows", "max_rows", "n"),
    "orderby": ("$orderby", "order_by", "order", "sort", "sort_by", "sortby"),
    "expand": ("$expand", "include", "join"),
    "environment": ("env", "environment_url", "url", "org", "instance"),
    "table": ("entity", "entity_name", "table_name", "logical_name", "entityset", "entity_set"),
    "id": ("record_id", "recordid", "guid", "key"),
    "values": ("data", "fields_values", "record", "body"),
    "cursor": ("next", "next_link", "nextlink", "page_token", "skiptoken", "$skiptoken"),
    "fetchxml": ("fetch_xml", "xml", "fetch"),
    "count": ("$count", "include_count", "total"),
}

_TYPE_WORDS = {
    "int": "a whole number", "integer": "a whole number", "string": "text", "str": "text", "bool": "true or false",
    "boolean": "true or false", "dict": "an object", "object": "an object", "list": "a list", "array": "a list",
    "float": "a number", "number": "a number",
}


def nearest_parameter(given: str, valid: Sequence[str]) -> str | None:
    """The valid parameter a model most likely meant by `given`, or None."""
    lowered = given.strip().lower()
    for parameter, spellings in COMMON_SPELLINGS.items():
        if parameter in valid and (lowered in spellings or lowered.lstrip("$") == parameter):
            return parameter
    close = nearest_names(lowered, valid, limit=1)
    return close[0] if close else None


def refuse_unknown_arguments(tool: str, input_schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> None:
    """InvalidArgumentError naming the fix when `arguments` has a key the tool's input schema does not list."""
    valid = list((input_schema.get("properties") or {}).keys())
    unknown = [name for name in arguments if name not in valid]
    if not unknown:
        return
    parts = []
    for name in unknown:
        meant = nearest_parameter(name, valid)
        if "environment" not in valid and name.lower() in ("environment", *COMMON_SPELLINGS["environment"]):
            parts.append(f"`{name}` is not a parameter of {tool}: this connector has one environment, so leave it "
                         "out")
        elif meant:
            parts.append(f"`{name}` is not a parameter of {tool}; use `{meant}`")
        else:
            parts.append(f"`{name}` is not a parameter of {tool}")
    listed = ", ".join(valid) if valid else "none"
    raise InvalidArgumentError(f"{'; '.join(parts)}. Nothing was done. Valid parameters: {listed}.")


def refuse_company(tool: str, alone: Sequence[str], arguments: Mapping[str, Any]) -> None:
    """InvalidArgumentError when a parameter that must come alone (a cursor) has company."""
    for name in alone:
        if arguments.get(name) in (None, ""):
            continue
        others = [key for key, value in arguments.items() if key not in (name, "environment") and value is not None]
        if others:
            listed = ", ".join(f"`{other}`" for other in others)
            raise InvalidArgumentError(
                f"A {name} continues the query it came from, so {tool} takes it alone; {listed} cannot change that "
                f"query. Pass only `{name}` for the next page, or start a new query without `{name}` to change it.")


def describe_validation_error(tool: str, input_schema: Mapping[str, Any], error: ValidationError) -> str:
    """One sentence per wrong argument: what it must be and how to go on."""
    properties: Mapping[str, Any] = input_schema.get("properties") or {}
    sentences: dict[str, str] = {}
    for item in error.errors(include_url=False):
        location = [str(part) for part in item["loc"]]
        name = location[0] if location else "arguments"
        if name in sentences:
            continue  # a union reports each of its arms; the first sentence is enough
        sentences[name] = _sentence(name, location[1:], item, properties.get(name) or {}, "cursor" in properties)
    return f"{' '.join(sentences.values())} Nothing was done; fix the argument and call {tool} again."


def _sentence(name: str, inner: list[str], item: Mapping[str, Any], schema: Mapping[str, Any], pages: bool) -> str:
    kind = str(item["type"])
    context = item.get("ctx") or {}
    where = f"`{name}`" + (f" (at {'.'.join(inner)})" if inner and not _is_type_name(inner[0]) else "")
    if kind == "missing":
        return f"`{name}` is required."
    if kind in ("less_than_equal", "less_than"):
        bound = context.get("le", context.get("lt"))
        more = "; page with the cursor for more" if pages and name == "top" else ""
        return f"{where} is at most {bound}{more}."
    if kind in ("greater_than_equal", "greater_than"):
        return f"{where} is at least {context.get('ge', context.get('gt'))}."
    if kind in ("literal_error", "enum"):
        return f"{where} must be one of: {context.get('expected', _allowed(schema))}."
    if kind in ("string_too_long", "too_long"):
        return f"{where} is too long: at most {context.get('max_length')}."
    if kind in ("string_too_short", "too_short"):
        return f"{where} is too short: at least {context.get('min_length')}."
    expected = _expected(kind, schema)
    return f"{where} must be {expected}."


def _is_type_name(part: str) -> bool:
    return part.split("[", maxsplit=1)[0] in _TYPE_WORDS or part in ("none", "null")


def _expected(kind: str, schema: Mapping[str, Any]) -> str:
    forms = _schema_forms(schema)
    if forms:
        return " or ".join(forms)
    stem = kind.split("_", maxsplit=1)[0]
    return _TYPE_WORDS.get(stem, "of the type the tool's input schema gives")


def _schema_forms(schema: Mapping[str, Any]) -> list[str]:
    """The JSON types a parameter's schema accepts, in words ("text or a list")."""
    options = schema.get("anyOf") or [schema]
    forms = []
    for option in options:
        word = _TYPE_WORDS.get(str(option.get("type", "")))
        if word and word not in forms:
            forms.append(word)
    return forms


def _allowed(schema: Mapping[str, Any]) -> str:
    values = schema.get("enum") or []
    return ", ".join(repr(value) for value in values) or "the values the tool lists"
