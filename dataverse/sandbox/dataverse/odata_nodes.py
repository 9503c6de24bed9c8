"""Typed expression nodes of the sandbox's OData `$filter` engine and the helpers that combine them.

Owns the Edm type of each operand (for Dataverse's "incompatible types" errors), SQL three-valued and/or, literal
nodes, navigation chains, and the per-query index of a collection navigation property's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dataverse.sandbox.dataverse.model import Dataset, LookupValue, Row
from dataverse.sandbox.dataverse.odata_lexer import Token, query_error
from dataverse.sandbox.dataverse.odata_semantics import GUID_PATTERN

Scope = dict[str, Row | None]
Evaluator = Callable[[Scope], Any]
OPERATOR_KINDS = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
                  "lt": "LessThan", "le": "LessThanOrEqual", "and": "And", "or": "Or"}
EDM_TYPES = {"String": "Edm.String", "Memo": "Edm.String", "EntityName": "Edm.String", "Integer": "Edm.Int32",
             "Picklist": "Edm.Int32", "State": "Edm.Int32", "Status": "Edm.Int32", "BigInt": "Edm.Int64",
             "Money": "Edm.Decimal", "Decimal": "Edm.Decimal", "Double": "Edm.Double", "Boolean": "Edm.Boolean",
             "DateTime": "Edm.DateTimeOffset", "Uniqueidentifier": "Edm.Guid", "Lookup": "Edm.Guid",
             "Customer": "Edm.Guid", "Owner": "Edm.Guid"}
FAMILIES = {"Edm.String": "string", "Edm.Int32": "number", "Edm.Int64": "number", "Edm.Decimal": "number",
            "Edm.Double": "number", "Edm.Boolean": "boolean", "Edm.DateTimeOffset": "date", "Edm.Date": "date",
            "Edm.Guid": "guid", "null": "null"}
MAX_DEPTH = 64


@dataclass(frozen=True)
class Node:
    edm_type: str  # an Edm type name, "null", or "Microsoft.Dynamics.CRM.<table>" for a navigation property
    evaluate: Evaluator
    string_guid: bool = False  # a 'quoted' literal that is also a valid GUID (Dataverse accepts it for Guid columns)



class ChildIndex:
    """The rows of a collection navigation property grouped by parent id, built on first use."""

    def __init__(self, dataset: Dataset, table: str, attribute: str):
        self.dataset, self.table, self.attribute = dataset, table, attribute
        self.groups: dict[tuple[str, str], list[Row]] | None = None

    def of(self, parent_table: str, parent_id: str) -> list[Row]:
        if self.groups is None:
            self.groups = {}
            for row in self.dataset.rows(self.table):
                value = row.get(self.attribute)
                if isinstance(value, LookupValue):
                    self.groups.setdefault((value.table, value.id.lower()), []).append(row)
        return self.groups.get((parent_table, parent_id), [])


def chain(variable: str, hops: list[Callable[[Row | None], Row | None]]) -> Callable[[Scope], Row | None]:
    def reach(scope: Scope) -> Row | None:
        row = scope.get(variable)
        for hop in hops:
            row = hop(row)
        return row

    return reach


def literal_node(token: Token) -> Node:
    value = token.value
    edm = {"string": "Edm.String", "guid": "Edm.Guid", "date": "Edm.Date", "datetime": "Edm.DateTimeOffset"}.get(
        token.kind, "Edm.Decimal" if isinstance(value, float) else "Edm.Int32")
    is_guid = token.kind == "string" and _looks_like_guid(value)
    if is_guid:
        value = value.lower()
    return Node(edm, lambda scope: value, string_guid=is_guid)


def _looks_like_guid(text: str) -> bool:
    return bool(GUID_PATTERN.match(text)) and not text.startswith("{")


def compatible(left: Node, right: Node, operator: str) -> bool:
    kinds = {FAMILIES.get(left.edm_type, "navigation"), FAMILIES.get(right.edm_type, "navigation")}
    if "navigation" in kinds:
        return "null" in kinds and operator in ("eq", "ne")
    if "null" in kinds or len(kinds) == 1:
        return True
    if kinds == {"guid", "string"}:
        return (left.string_guid or right.string_guid) and operator in ("eq", "ne")
    return False


def day_of(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value


def require_boolean(node: Node, kind: str) -> None:
    if node.edm_type not in ("Edm.Boolean", "null"):
        raise query_error(f"The operand of '{kind}' must be a boolean expression, not '{node.edm_type}'.")


def and3(left: Any, right: Any) -> Any:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


def or3(left: Any, right: Any) -> Any:
    if left is True or right is True:
        return True
    if left is None or right is None:
        return None
    return False
