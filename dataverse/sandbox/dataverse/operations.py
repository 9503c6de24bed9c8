"""Actions and functions as data: each `Operation` carries what the CSDL `$metadata` document declares (name, kind,
binding, parameters with their types and nullability, return type) and the handler the sandbox runs, so the
document and what the sandbox actually serves cannot drift apart.

Parameter values reach a handler already parsed: JSON values for actions (the request body), literals and `@p`
aliases for functions (the URL), entity references as `EntityRef`. Types are written as in CSDL, with the
`mscrm.` alias for `Microsoft.Dynamics.CRM.`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import Row, SandboxError, Table

NAMESPACE = "Microsoft.Dynamics.CRM"
ALIAS = "mscrm"
OperationKind = Literal["Action", "Function"]


@dataclass(frozen=True)
class Parameter:
    name: str  # case-sensitive, as in CSDL
    type: str  # CSDL type: Edm.Int32, mscrm.opportunityclose, Collection(Edm.String)
    nullable: bool = True


@dataclass(frozen=True)
class ComplexResult:
    """A complex-type answer: 200 with `@odata.context` `$metadata#Microsoft.Dynamics.CRM.<type>` (and `headers`,
    e.g. the Preference-Applied of formatted values)."""

    type_name: str
    value: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EntitiesResult:
    """A collection of entities answer (QualifyLead's `Collection(mscrm.crmbaseentity)`)."""

    type_name: str
    rows: list[dict[str, Any]]


OperationResult = ComplexResult | EntitiesResult | None


@dataclass
class OperationCall:
    """One invocation: the request, the parsed parameters, and for a bound operation the record it is bound to."""

    ctx: RequestContext
    parameters: dict[str, Any]
    table: Table | None = None  # bound: the table of the record or collection in the URL
    row: Row | None = None  # bound to a record: the record (visible to the caller)


Handler = Callable[[OperationCall], Awaitable[OperationResult]]


@dataclass(frozen=True)
class Operation:
    name: str
    kind: OperationKind
    handler: Handler
    parameters: tuple[Parameter, ...] = ()
    returns: str | None = None  # CSDL return type; None: no content (204)
    bound_to: str | None = None  # entity type logical name of the binding parameter
    bound_to_collection: bool = False
    complex_types: dict[str, tuple[Parameter, ...]] = field(default_factory=dict)  # declared with the operation

    @property
    def is_bound(self) -> bool:
        return self.bound_to is not None

    def parameter(self, name: str) -> Parameter | None:
        return next((parameter for parameter in self.parameters if parameter.name == name), None)


def bad_parameter(message: str) -> SandboxError:
    """A 400 for a parameter the operation cannot take (names are case-sensitive)."""
    return SandboxError(400, "0x80040203", message)


def check_parameters(operation: Operation, values: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown parameters and missing non-nullable ones; returns `values` with absent ones as None."""
    for name in values:
        if operation.parameter(name) is None:
            raise SandboxError(400, "0x80048d19",
                               f"The parameter '{name}' in the request payload is not a valid parameter for the "
                               f"operation '{operation.name}'.")
    for parameter in operation.parameters:
        if not parameter.nullable and values.get(parameter.name) is None:
            raise bad_parameter(f"Required parameter '{parameter.name}' of '{operation.name}' is missing.")
    return {parameter.name: values.get(parameter.name) for parameter in operation.parameters}


_BIND_TARGET = re.compile(r"(?:.*/)?([A-Za-z_]\w*)\(([0-9a-fA-F-]{36})\)$")
KEY_NOT_SET = "EdmEntityObject passed should have the key property value set."


def entity_reference(ctx: RequestContext, parameter: str, value: Any) -> tuple[Table, str]:
    """The (table, id) an entity-typed parameter names: `{"@odata.type": "Microsoft.Dynamics.CRM.account",
    "accountid": "<id>"}` or `{"@odata.id": "accounts(<id>)"}`. The type annotation is required where the declared
    type is ambiguous (crmbaseentity), and the key with it."""
    if not isinstance(value, dict):
        raise bad_parameter(f"The parameter '{parameter}' must be an entity reference object.")
    odata_id = value.get("@odata.id")
    if isinstance(odata_id, str):
        match = _BIND_TARGET.match(odata_id)
        if match is None:
            raise bad_parameter(f"The value '{odata_id}' of '{parameter}' is not a valid entity reference.")
        try:
            table = ctx.org.table_by_entity_set(match.group(1))
        except KeyError:
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{match.group(1)}'.") from None
        return table, match.group(2).lower()
    type_name = value.get("@odata.type")
    if not isinstance(type_name, str):
        raise SandboxError(400, "0x80048d19", KEY_NOT_SET)
    logical_name = type_name.lstrip("#").removeprefix(f"{NAMESPACE}.")
    typed = ctx.org.tables.get(logical_name)
    if typed is None:
        raise bad_parameter(f"The type '{type_name}' of '{parameter}' is not an entity type of this organisation.")
    table = typed
    key = value.get(table.primary_id)
    if not isinstance(key, str):
        raise SandboxError(400, "0x80048d19", KEY_NOT_SET)
    return table, key.lower()
