"""Arguments a tool does not take are refused, never dropped: a model that sends `$filter` or `where` to
query_records must hear that the filter was not applied, not get unfiltered rows it will trust.

The refusal names the nearest valid parameter (by the spellings models use for OData and SQL, then by closeness) and
lists the valid ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataverse.tools.kit.errors import InvalidArgumentError, nearest_names

# What models write for a parameter, by habit from OData, SQL and other APIs.
COMMON_SPELLINGS: dict[str, tuple[str, ...]] = {
    "filter": ("$filter", "where", "filters", "query_filter", "odata_filter", "condition"),
    "select": ("$select", "columns", "fields", "attributes", "cols"),
    "top": ("$top", "limit", "page_size", "pagesize", "max", "count_rows", "rows"),
    "orderby": ("$orderby", "order_by", "order", "sort", "sort_by", "sortby"),
    "expand": ("$expand", "include", "join"),
    "environment": ("env", "environment_url", "url", "org", "instance"),
    "table": ("entity", "entity_name", "table_name", "logical_name", "entityset", "entity_set"),
    "id": ("record_id", "recordid", "guid", "key"),
    "values": ("data", "fields_values", "record", "attributes_values", "body"),
    "cursor": ("next", "next_link", "nextlink", "page_token", "skiptoken"),
    "fetchxml": ("fetch_xml", "xml", "fetch"),
}


def nearest_parameter(given: str, valid: list[str]) -> str | None:
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
