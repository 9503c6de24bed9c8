"""Invoking Dataverse actions and functions: their URLs, how parameter values are written, and how answers are read.

- Unbound: the plain name at the service root (`WinOpportunity`, `WhoAmI()`); bound to a record or a collection:
  `{set}({id})/Microsoft.Dynamics.CRM.{Name}` / `{set}/Microsoft.Dynamics.CRM.{Name}`.
- Functions (GET) take their parameters in the URL as `@p` aliases: `RetrieveTotalRecordCount(EntityNames=@p1)
  ?@p1=["account","contact"]`; strings single-quoted (quotes doubled), numbers and booleans bare, enums
  `Microsoft.Dynamics.CRM.<Type>'<Member>'`, arrays and objects as JSON, record references
  `{'@odata.id':'accounts(<id>)'}`.
- Actions (POST) take their parameters as the JSON body; an entity-typed parameter given as `EntityReference` is
  written `{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": "<id>"}`.
- Answers: 204 -> None; a complex type -> dict (without `@odata.context`); one entity -> its row; a collection ->
  the list in `value`.

`ActionVerbs` are the client's verbs: an action is never retried (a POST that may change data), a function is a read
and is retried like one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .core import ClientCore
from .csdl import parse_operation_definitions
from .errors import DataverseError
from .models import ActionDefinition, OperationResult
from .odata import collection_path, format_guid, record_path, validate_identifier, validate_logical_name

NAMESPACE = "Microsoft.Dynamics.CRM"
AMBIGUOUS_ENTITY_TYPES = frozenset({"crmbaseentity", "principal", "activitypointer"})


@dataclass(frozen=True)
class EntityReference:
    """A record passed as an entity-typed parameter. `logical_name` and the key make the action-body form
    (`{"@odata.type": ..., "<key>": id}`; the key defaults to `<logical_name>id`, give `primary_id` for activities:
    `activityid`); a function URL needs `entity_set` (`{'@odata.id':'accounts(<id>)'}`)."""

    logical_name: str
    id: str
    entity_set: str | None = None
    primary_id: str | None = None

    def __post_init__(self) -> None:
        validate_logical_name(self.logical_name)
        object.__setattr__(self, "id", format_guid(self.id))
        if self.entity_set is not None:
            validate_identifier(self.entity_set, kind="entity set name")
        if self.primary_id is not None:
            validate_logical_name(self.primary_id, kind="primary id column")

    def action_value(self) -> dict[str, str]:
        return {"@odata.type": f"{NAMESPACE}.{self.logical_name}",
                self.primary_id or f"{self.logical_name}id": self.id}

    def function_value(self) -> str:
        if self.entity_set is None:
            raise ValueError(f"A record reference in a function URL needs its entity set: give entity_set= for the "
                             f"{self.logical_name} {self.id}")
        return "{'@odata.id':'" + record_path(self.entity_set, self.id) + "'}"


@dataclass(frozen=True)
class EnumValue:
    """A value of an enum type: `EnumValue("EndpointAccessType", "Default")` is written
    `Microsoft.Dynamics.CRM.EndpointAccessType'Default'` in a URL and `"Default"` in a body."""

    type_name: str
    member: str

    def __post_init__(self) -> None:
        validate_identifier(self.type_name, kind="enum type name")
        if not isinstance(self.member, str) or not self.member or "'" in self.member:
            raise ValueError(f"{self.member!r} is not an enum member name")


def operation_path(name: str, *, entity_set: str | None, record_id: str | None) -> str:
    """`Name`, `{set}/Microsoft.Dynamics.CRM.Name` or `{set}({id})/Microsoft.Dynamics.CRM.Name`."""
    validate_identifier(name, kind="action or function name")
    if record_id is not None and entity_set is None:
        raise ValueError("record_id needs entity_set: a bound operation is called on {entity_set}({record_id})")
    if entity_set is None:
        return name
    base = record_path(entity_set, record_id) if record_id is not None else collection_path(entity_set)
    return f"{base}/{NAMESPACE}.{name}"


def function_call(path: str, parameters: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The function segment with `@p` aliases, and the alias values for the query string."""
    names, aliases = [], {}
    for index, (name, value) in enumerate(parameters.items(), start=1):
        validate_identifier(name, kind="parameter name")
        names.append(f"{name}=@p{index}")
        aliases[f"@p{index}"] = url_literal(value)
    return f"{path}({','.join(names)})", aliases


def url_literal(value: Any) -> str:
    """One parameter value as a function URL writes it."""
    if isinstance(value, EntityReference):
        return value.function_value()
    if isinstance(value, EnumValue):
        return f"{NAMESPACE}.{value.type_name}'{value.member}'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple | Mapping):
        return json.dumps(body_value(value), ensure_ascii=False, separators=(",", ":"))
    raise TypeError(f"a {type(value).__name__} cannot be a function parameter value")


def body_value(value: Any) -> Any:
    """A parameter value as an action body writes it (recursively for lists and objects)."""
    if isinstance(value, EntityReference):
        return value.action_value()
    if isinstance(value, EnumValue):
        return value.member
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(key): body_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [body_value(item) for item in value]
    return value


def action_body(parameters: Mapping[str, Any], definition: ActionDefinition | None = None) -> dict[str, Any]:
    """The JSON body of an action. With its definition, unknown and missing required parameters are refused, and a
    plain object for an ambiguous entity type (crmbaseentity, principal) must carry its `@odata.type`."""
    if definition is not None:
        check_parameters(parameters, definition)
    body = {}
    for name, value in parameters.items():
        validate_identifier(name, kind="parameter name")
        body[name] = body_value(value)
    return body


def check_parameters(parameters: Mapping[str, Any], definition: ActionDefinition) -> None:
    known = {parameter.name: parameter for parameter in definition.parameters}
    for name, value in parameters.items():
        if name not in known:
            hint = next((known_name for known_name in known if known_name.lower() == name.lower()), None)
            also = f" (names are case-sensitive: did you mean {hint!r}?)" if hint else ""
            raise ValueError(f"{definition.name} has no parameter {name!r}{also}; it takes {sorted(known)}")
        entity_type = known[name].type.removeprefix("mscrm.").removeprefix(f"{NAMESPACE}.")
        if entity_type in AMBIGUOUS_ENTITY_TYPES and isinstance(value, Mapping) and "@odata.type" not in value:
            raise ValueError(f"{name} is a {entity_type}: pass an EntityReference (or an object with '@odata.type' "
                             f"and its key), or Dataverse answers 'EdmEntityObject passed should have the key "
                             f"property value set.'")
    missing = [name for name in definition.required if parameters.get(name) is None]
    if missing:
        raise ValueError(f"{definition.name} needs {missing}")


def parse_operation_response(body: Any) -> OperationResult:
    """None for no content; the rows or values of a collection; a complex value or one entity as a dict."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise DataverseError("Dataverse answered an action or function with a body that is not a JSON object")
    context = str(body.get("@odata.context", ""))
    fragment = context.split("#", 1)[1] if "#" in context else ""
    is_collection = fragment.startswith("Collection(") or (
        "value" in body and fragment and "." not in fragment.split("(")[0] and not fragment.endswith("/$entity"))
    if is_collection:
        value = body.get("value")
        if not isinstance(value, list):
            raise DataverseError("Dataverse answered a collection without a 'value' list")
        return value
    return {key: item for key, item in body.items() if key != "@odata.context"}


class ActionVerbs(ClientCore):
    async def invoke_action(
        self,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        entity_set: str | None = None,
        record_id: str | None = None,
        definition: ActionDefinition | None = None,
    ) -> OperationResult:
        """POST an action: unbound (`WinOpportunity`), bound to a record (`entity_set` + `record_id`: QualifyLead on
        `leads`) or to a collection (`entity_set` alone). Parameter names are case-sensitive; an `EntityReference`
        is written with its `@odata.type`. With `definition` (from `list_operations`) unknown or missing parameters
        are a ValueError before anything is sent.

        Returns None (204), a dict (complex type or one entity) or a list (a collection, e.g. QualifyLead's created
        records). Never retried: a failure after sending (5xx, no answer in time, connection dropped) raises
        OutcomeUnknownError; 429 raises ThrottledError (nothing ran); 4xx raise their DataverseError (404 for an
        unknown action or a record the user cannot see, 403 for a missing privilege)."""
        path = operation_path(name, entity_set=entity_set, record_id=record_id)
        _, body = await self._request(
            "POST",
            path,
            json=action_body(parameters or {}, definition),
            idempotent=False,
            outcome_hint=f"Read the records {name} changes to see whether it took effect before invoking it again.",
        )
        return parse_operation_response(body)

    async def invoke_function(
        self,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        entity_set: str | None = None,
        record_id: str | None = None,
        definition: ActionDefinition | None = None,
    ) -> OperationResult:
        """GET a function (`WhoAmI`, `RetrieveTotalRecordCount`), unbound or bound like `invoke_action`, its
        parameters passed as `@p` aliases. Retried like any read. Returns as `invoke_action` does."""
        if definition is not None:
            check_parameters(parameters or {}, definition)
        path, aliases = function_call(operation_path(name, entity_set=entity_set, record_id=record_id),
                                      parameters or {})
        _, body = await self._request("GET", path, params=aliases)
        return parse_operation_response(body)

    async def list_operations(self) -> list[ActionDefinition]:
        """Every action and function the environment declares in its CSDL `$metadata` document (several MB on a
        real organisation: cache the result). DataverseError if the document cannot be read."""
        response = await self._send("GET", "$metadata", accept="application/xml")
        if not response.headers.get("content-type", "").startswith(("application/xml", "text/xml")):
            raise DataverseError("Dataverse answered $metadata without the CSDL XML document",
                                 status=response.status_code)
        return parse_operation_definitions(response.content)
