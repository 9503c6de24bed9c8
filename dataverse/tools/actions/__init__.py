"""Dataverse's business actions and functions beyond the named tools: `describe_action` (an operation's parameters,
from the environment's `$metadata`) and `invoke_action` (run it), both limited to what the administrator lists in
ACTION_ALLOWLIST (empty by default: then neither tool is offered). The Odoo servers' `execute`, allow-listed.

Functions are reads; actions may change data, are sent once and never retried. A bound operation runs on a record
(table + id) or a table; the tables it touches must be allowed by the table policy."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dataverse.tools.actions.catalog import ActionCatalog, allowed_operation
from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.registry import DESTRUCTIVE, READ_ONLY, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import resolve_table
from dataverse.tools.schema.policy import require_table_allowed


def setup(runtime: ToolRuntime) -> ActionCatalog | None:
    names = [name.strip() for name in runtime.settings.action_allowlist if name.strip()]
    return ActionCatalog(names) if names else None


group: ToolGroup[ActionCatalog] = ToolGroup("actions", setup=setup)


class ParameterEntry(ResultModel):
    name: str
    type: str
    required: bool


class ActionDescription(ResultModel):
    name: str
    kind: str
    bound_to: str | None = None
    parameters: list[ParameterEntry]
    returns: str | None = None


class ActionResult(ResultModel):
    name: str
    result: Any = None


def _names(catalog: ActionCatalog) -> str:
    return ", ".join(catalog.names)


@group.tool(title="Describe an action", annotations=READ_ONLY, description=lambda catalog: (
    f"The parameters of an allowed Dataverse action or function: {_names(catalog)}."))
async def describe_action(call: ToolCall,
                          name: Annotated[str, Field(description="The action's name.")]) -> ActionDescription:
    definition = allowed_operation(group.state(call), await group.state(call).definitions(call), name)
    return ActionDescription(
        name=definition.name, kind=definition.kind, bound_to=definition.bound_to,
        parameters=[ParameterEntry(name=p.name, type=p.type, required=not p.nullable) for p in definition.parameters],
        returns=definition.returns)


@group.tool(title="Run an action", annotations=DESTRUCTIVE, requires="write", description=lambda catalog: (
    f"Run an allowed Dataverse action or function with its parameters (describe_action): {_names(catalog)}."))
async def invoke_action(
    call: ToolCall,
    name: Annotated[str, Field(description="The action's name.")],
    parameters: Annotated[dict[str, Any] | None, Field(description="Its parameters, by name.")] = None,
    table: Annotated[str | None, Field(description="Bound actions: the table.")] = None,
    id: Annotated[str | None, Field(description="Bound to a record: its id.")] = None,
) -> ActionResult:
    catalog = group.state(call)
    definition = allowed_operation(catalog, await catalog.definitions(call), name)
    entity_set = record_id = None
    if definition.bound_to:
        if not table:
            raise InvalidArgumentError(f"{definition.name} is bound to {definition.bound_to}: pass `table`"
                                       + (" and `id`." if not definition.bound_to_collection else "."))
        summary = await resolve_table(call, table)
        entity_set = summary.entity_set
        record_id = record_id_argument(id) if id and not definition.bound_to_collection else None
    for value in (parameters or {}).values():
        if isinstance(value, dict) and isinstance(value.get("@odata.type"), str):
            require_table_allowed(call.settings, value["@odata.type"].rsplit(".", 1)[-1])
    run = call.client.invoke_function if definition.kind == "function" else call.client.invoke_action
    with dataverse_errors(operation="read" if definition.kind == "function" else "update", table=table):
        result = await run(definition.name, parameters or {}, entity_set=entity_set, record_id=record_id,
                           definition=definition)
    return ActionResult(name=definition.name, result=result)
