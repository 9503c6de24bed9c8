"""Action and function definitions from the CSDL `$metadata` document (OData 4.0 EDMX), parsed with defusedxml.

Only what listing and calling them needs: `<Action Name IsBound>` / `<Function ...>` with their `<Parameter Name
Type Nullable>` and `<ReturnType Type>`. For a bound operation the first parameter is the binding one (`entity` or
`entityset`): it becomes `bound_to` (the entity type's logical name) and `bound_to_collection`, and is left out of
`parameters`. The document of a real organisation runs to megabytes, so it is read incrementally, elements dropped
once seen; callers should cache the result.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse

from .errors import DataverseError
from .models import ActionDefinition, OperationParameter

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
_KINDS = {f"{EDM}Action": "action", f"{EDM}Function": "function"}


def _entity_type_name(type_name: str) -> str:
    """`mscrm.lead` / `Microsoft.Dynamics.CRM.lead` -> `lead`."""
    return type_name.rsplit(".", 1)[-1]


def parse_operation_definitions(document: bytes) -> list[ActionDefinition]:
    """Every Action and Function the document declares, in document order (overloads each appear)."""
    definitions: list[ActionDefinition] = []
    try:
        for _, element in iterparse(io.BytesIO(document), events=("end",)):
            kind = _KINDS.get(element.tag)
            if kind is not None:
                definitions.append(_definition(element, kind))
                element.clear()
            elif element.tag in (f"{EDM}EntityType", f"{EDM}ComplexType", f"{EDM}EnumType"):
                element.clear()  # keep memory flat over a large document
    except (SyntaxError, ValueError) as error:  # ParseError is a SyntaxError; defusedxml refusals are ValueErrors
        raise DataverseError(f"The $metadata document could not be read as CSDL XML: {error}") from None
    return definitions


def _definition(element: Element, kind: str) -> ActionDefinition:
    name = element.get("Name") or ""
    bound = (element.get("IsBound") or "").lower() == "true"
    parameters = [
        OperationParameter(
            name=child.get("Name") or "",
            type=child.get("Type") or "",
            nullable=(child.get("Nullable") or "true").lower() != "false",
        )
        for child in element.findall(f"{EDM}Parameter")
    ]
    returns = element.find(f"{EDM}ReturnType")
    bound_to, collection = None, False
    if bound and parameters:
        binding = parameters.pop(0)
        collection = binding.type.startswith("Collection(")
        bound_to = _entity_type_name(binding.type.removeprefix("Collection(").rstrip(")"))
    return ActionDefinition(
        name=name,
        kind="action" if kind == "action" else "function",
        bound_to=bound_to,
        bound_to_collection=collection,
        parameters=tuple(parameters),
        returns=returns.get("Type") if returns is not None else None,
    )


def find_operation(definitions: Iterable[ActionDefinition], name: str, *,
                   bound_to: str | None = None) -> ActionDefinition:
    """The definition called `name` (case-sensitive), bound to `bound_to` if given (None: unbound or any binding
    when only one exists). KeyError when there is none."""
    matches = [definition for definition in definitions if definition.name == name]
    if bound_to is not None:
        matches = [definition for definition in matches if definition.bound_to == bound_to]
    elif len(matches) > 1:
        matches = [definition for definition in matches if definition.bound_to is None] or matches
    if not matches:
        raise KeyError(name)
    return matches[0]
