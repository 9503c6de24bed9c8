"""The MCP server the tools are served by: the SDK's MCPServer, with protocol errors as the spec names them and an
audit event for every prompt and resource read (tools are audited by the registry).

- An unknown tool is -32602 (invalid params) with the tool names, as the spec's tools page says; the SDK would
  answer a tool result that reads as if the tool had run and failed.
- An unknown prompt, or a prompt argument it does not take or a missing required one, is a JSON-RPC -32602
  (invalid params) listing the valid names; the SDK would answer code 0.
- An unknown resource is -32002 (resource not found) under protocol 2025-11-25 and earlier, and -32602 from
  2026-07-28 on, where -32002 was retired; the message lists the resources there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, GetPromptResult, InputRequiredResult
from pydantic import AnyUrl

from dataverse.audit import AuditLog

INVALID_PARAMS = -32602
RESOURCE_NOT_FOUND_BEFORE_2026 = -32002
FIRST_ERA_WITHOUT_32002 = "2026-07-28"


def resource_not_found_code(protocol_version: str | None) -> int:
    """-32002 where the negotiated protocol still defines it, -32602 from 2026-07-28 on."""
    if protocol_version and protocol_version >= FIRST_ERA_WITHOUT_32002:
        return INVALID_PARAMS
    return RESOURCE_NOT_FOUND_BEFORE_2026


class DataverseMCPServer(MCPServer):
    """MCPServer with spec-named protocol errors and audited prompt and resource reads."""

    def __init__(self, *args: Any, audit: AuditLog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audit = audit

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None) -> CallToolResult | InputRequiredResult:
        if self._tool_manager.get_tool(name) is None:
            names = [tool.name for tool in self._tool_manager.list_tools()]
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool {name!r}. Tools: {_listed(names)}.",
                           data={"tools": names})
        return await super().call_tool(name, arguments, context)

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None,
                         context: Context[Any, Any] | None = None) -> GetPromptResult | InputRequiredResult:
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            names = [listed.name for listed in await self.list_prompts()]
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt {name!r}. Prompts: {_listed(names)}.",
                           data={"prompts": names})
        accepted = {argument.name: argument.required for argument in prompt.arguments or []}
        given = arguments or {}
        unknown = [key for key in given if key not in accepted]
        missing = [key for key, required in accepted.items() if required and key not in given]
        if unknown or missing:
            problem = (f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not an argument of "
                       if unknown else f"{', '.join(map(repr, missing))} is required by ")
            raise MCPError(code=INVALID_PARAMS,
                           message=f"{problem}prompt {name!r}. Its arguments: {_listed(accepted) or 'none'}.",
                           data={"arguments": list(accepted)})
        async with self.audit.audited(name, access_token=get_access_token(), event="prompt_get"):
            return await super().get_prompt(name, arguments, context)

    async def read_resource(self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
                            ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        uris = [str(resource.uri) for resource in await self.list_resources()]
        if str(uri) not in uris and not self._resource_manager.list_templates():
            version = context.protocol_version if context is not None else None
            raise MCPError(code=resource_not_found_code(version),
                           message=f"Unknown resource {str(uri)!r}. Resources: {_listed(uris)}.",
                           data={"uri": str(uri), "resources": uris})
        name = str(uri).split("://", 1)[-1].replace("/", ".")[:128] or "resource"
        async with self.audit.audited(name, access_token=get_access_token(), event="resource_read"):
            return await super().read_resource(uri, context)


def _listed(names: Iterable[str]) -> str:
    return ", ".join(names)
