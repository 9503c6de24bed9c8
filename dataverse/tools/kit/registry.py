"""How a tool is made: one decorated function in its group's module, and nothing else.

    group = ToolGroup("query")

    @group.tool(title="Get a record", annotations=READ_ONLY, description="One record by table and id ...")
    async def get_record(call: ToolCall, table: TableName, id: RecordId, select: Columns = None) -> RecordResult:
        ...

The registry, not the tool, does what every tool needs:
- injects the caller's `ToolCall` (who, which environment, a Dataverse client acting as them) as the first argument;
- adds the `environment` parameter only when more than one environment is configured;
- applies observation (a telemetry span and one audit event per call, `observed.py`) and the administrator's policy
  (`requires`: a tool that writes is not offered in read-only mode, delete tools only where deleting is allowed);
- publishes every annotation hint explicitly, from a preset (READ_ONLY, WRITE, DESTRUCTIVE), with the title;
- closes the input schema (`additionalProperties: false`), refuses an argument the tool does not take and explains a
  wrong one in words (`arguments.py`); keeps schemas compact (`schemas.py`);
- sends a returned `ResultModel` as structured content with the same JSON as text (`results.py`).

A group may keep state for its tools (`setup`, made once per server, reached with `group.state(call)`) and may add
prompts and resources (`@group.extension`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, Literal, TypeVar, cast

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import ValidationError

from dataverse.settings import Settings
from dataverse.tools.kit.arguments import describe_validation_error, refuse_company, refuse_unknown_arguments
from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.errors import InvalidArgumentError
from dataverse.tools.kit.observed import observed
from dataverse.tools.kit.params import Environment
from dataverse.tools.kit.results import ResultModel, tool_result
from dataverse.tools.kit.schemas import compact_output_schema, compact_schema

Requirement = Literal["read", "write", "delete"]
StateT = TypeVar("StateT")
ToolFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Hints:
    """Every MCP annotation hint, stated: directory reviews (ChatGPT, Claude) reject tools that leave one out."""

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = False

    def but(self, **changes: bool) -> Hints:
        return replace(self, **changes)

    def annotations(self) -> ToolAnnotations:
        """The hints; the title is the tool's own `title`, not repeated here."""
        return ToolAnnotations(read_only_hint=self.read_only, destructive_hint=self.destructive,
                               idempotent_hint=self.idempotent, open_world_hint=self.open_world)


READ_ONLY = Hints(read_only=True, destructive=False, idempotent=True)
WRITE = Hints(read_only=False, destructive=False, idempotent=False)
DESTRUCTIVE = Hints(read_only=False, destructive=True, idempotent=False)


def permitted(requires: Requirement, settings: Settings) -> bool:
    """The administrator's policy: read-only mode offers no writes; deletes need `allow_delete` too."""
    if requires == "read":
        return True
    if settings.access_mode == "read_only":
        return False
    return requires == "write" or settings.allow_delete


@dataclass(frozen=True)
class ToolSpec:
    """One tool as its group declared it."""

    fn: ToolFunction
    name: str
    title: str
    description: str | Callable[[Any], str]  # or made from the group's state (e.g. the reports the policy allows)
    hints: Hints
    requires: Requirement
    per_environment: bool  # False: the tool works outside any one environment (no `environment` parameter)
    alone: tuple[str, ...]  # parameters that must come without any other (a cursor)
    input_schema: Callable[[Any, dict[str, Any]], dict[str, Any]] | None  # the group state may narrow the schema
    widget: str | None  # the `ui://` MCP Apps resource that shows this tool's results (tools/apps/)


Extension = Callable[[MCPServer, Any, ToolRuntime], None]


class ToolGroup(Generic[StateT]):
    """The tools of one module, declared with `@group.tool(...)`, and what they share."""

    def __init__(self, name: str, *, setup: Callable[[ToolRuntime], StateT | None] | None = None) -> None:
        self.name = name
        self.setup = setup
        self.specs: list[ToolSpec] = []
        self.extensions: list[Extension] = []

    def tool(self, *, title: str, description: str | Callable[[StateT], str], annotations: Hints,
             requires: Requirement = "read", per_environment: bool = True,
             name: str | None = None, alone: tuple[str, ...] = (),
             input_schema: Callable[[StateT, dict[str, Any]], dict[str, Any]] | None = None,
             widget: str | None = None) -> Callable[[ToolFunction], ToolFunction]:
        def register(fn: ToolFunction) -> ToolFunction:
            self.specs.append(ToolSpec(fn=fn, name=name or fn.__name__, title=title, description=description,
                                       hints=annotations, requires=requires, per_environment=per_environment,
                                       alone=alone, input_schema=input_schema, widget=widget))
            return fn

        return register

    def extension(self, fn: Extension) -> Extension:
        """Register `fn(server, state, runtime)`, run after the tools are added (prompts, resources)."""
        self.extensions.append(fn)
        return fn

    def state(self, call: ToolCall) -> StateT:
        """What `setup` made for the server this call came to."""
        return cast(StateT, call.runtime.group_states[self.name])


class KitTool(Tool):
    """An SDK Tool whose arguments are checked first (kit/arguments.py): unknown ones and a cursor with company are
    refused, and a value of the wrong type or range is explained in words."""

    alone: tuple[str, ...] = ()

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        refuse_unknown_arguments(self.name, self.parameters, arguments)
        refuse_company(self.name, self.alone, arguments)
        try:
            return await super().run(arguments, context, convert_result=convert_result)
        except UnexpectedToolError:
            raise
        except ToolError as error:  # the SDK's refusal of the arguments, with pydantic's dump: say it in words
            if isinstance(error.__cause__, ValidationError):
                raise InvalidArgumentError(describe_validation_error(self.name, self.parameters, error.__cause__)
                                           ) from None
            raise


def build_tools(groups: Sequence[ToolGroup[Any]], runtime: ToolRuntime) -> list[Tool]:
    """Every tool of `groups` the policy permits, bound to `runtime`; sets up each group that offers one."""
    tools: list[Tool] = []
    for group in groups:
        specs = [spec for spec in group.specs if permitted(spec.requires, runtime.settings)]
        if not specs and group.specs:
            continue
        state = None
        if group.setup is not None:
            state = group.setup(runtime)
            if state is None:  # the group cannot work in this deployment (e.g. no shared store)
                continue
            runtime.group_states[group.name] = state
        tools.extend(_make_tool(spec, runtime, state) for spec in specs)
    return tools


def install_extensions(groups: Sequence[ToolGroup[Any]], server: MCPServer, runtime: ToolRuntime) -> None:
    """Run each set-up group's extensions (prompts, resources) against the built server."""
    for group in groups:
        if group.extensions and (group.setup is None or group.name in runtime.group_states):
            for extend in group.extensions:
                extend(server, runtime.group_states.get(group.name), runtime)


def widget_meta(resource_uri: str) -> dict[str, Any]:
    """A tool's `_meta` naming its MCP Apps widget. ChatGPT reads the standard key; its legacy mirror
    (`openai/outputTemplate`) is optional and would cost every conversation its bytes in tools/list."""
    return {"ui": {"resourceUri": resource_uri}}


def _make_tool(spec: ToolSpec, runtime: ToolRuntime, state: Any) -> Tool:
    signature = inspect.signature(spec.fn, eval_str=True)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].annotation is not ToolCall:
        raise TypeError(f"tool {spec.name}: the first parameter must be `call: ToolCall`")
    visible = parameters[1:]
    if spec.per_environment and len(runtime.environments) > 1:
        visible.append(inspect.Parameter("environment", inspect.Parameter.KEYWORD_ONLY, default=None,
                                         annotation=Environment))
    returned = signature.return_annotation
    structured = isinstance(returned, type) and issubclass(returned, ResultModel)
    fn = spec.fn

    async def invoke(*, environment: str | None = None, **arguments: Any) -> Any:
        result = await fn(runtime.begin_call(environment), **arguments)
        return tool_result(result) if isinstance(result, ResultModel) else result

    run = observed(invoke, tool=spec.name, audit=runtime.audit)
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]  # what the SDK reads for the schemas
        parameters=visible,
        return_annotation=Annotated[CallToolResult, returned] if structured else CallToolResult,
    )
    run.__name__ = spec.name
    description = spec.description if isinstance(spec.description, str) else spec.description(state)
    tool = KitTool.from_function(run, name=spec.name, title=spec.title, description=description,
                                 annotations=spec.hints.annotations(), structured_output=structured,
                                 meta=widget_meta(spec.widget) if spec.widget else None)
    assert isinstance(tool, KitTool)  # from_function builds the class it is called on
    tool.parameters = compact_schema(tool.parameters, keep_descriptions=True) | {"additionalProperties": False}
    if spec.input_schema is not None:
        tool.parameters = spec.input_schema(state, tool.parameters)
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = compact_output_schema(tool.fn_metadata.output_schema)
        # The result is dumped from a validated ResultModel (tool_result); the SDK validating that dump again
        # against the same model costs every call and can only agree. The schema is still published.
        tool.fn_metadata.output_model = None
    tool.alone = spec.alone
    return tool
