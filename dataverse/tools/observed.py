"""Every tool call observed in one place: a telemetry span (Dataverse request spans nest under it) and exactly one
audit event (user, client, tool, environment, table, record id, outcome, latency, Dataverse request id; never
arguments' contents). `ObservedMCPServer` applies it to each tool as it is added, so no tool can forget it.
A storage outage during a tool (delete proposals live in storage) becomes a tool error that says so and asks for a
retry, instead of the SDK's bare "Error executing tool".
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from dataverse.audit import AuditLog
from dataverse.storage.errors import StorageUnavailableError
from dataverse.telemetry import tool_span

STORAGE_UNAVAILABLE_MESSAGE = (
    "The connector's storage is temporarily unavailable, so this call could not complete and no record was deleted. "
    "Retry in a minute; if this was delete_record, use only the confirmation token a successful retry returns."
)


def observed_tool(fn: Callable[..., Any], *, tool: str, audit: AuditLog) -> Callable[..., Any]:
    """`fn` (async) wrapped in a span and an audit event; its visible signature is unchanged."""

    @functools.wraps(fn)
    async def run(**kwargs: Any) -> Any:
        caller = get_access_token()
        environment = kwargs.get("environment") if isinstance(kwargs.get("environment"), str) else None
        table = kwargs.get("table") if isinstance(kwargs.get("table"), str) else None
        record_id = kwargs.get("id") if isinstance(kwargs.get("id"), str) else None
        async with tool_span(f"tool {tool}", tool=tool, environment=environment,
                             user_oid=caller.subject if caller else None):
            async with audit.audited(tool, access_token=caller, environment=environment, table=table,
                                     record_id=record_id):
                try:
                    return await fn(**kwargs)
                except StorageUnavailableError as error:
                    raise ToolError(STORAGE_UNAVAILABLE_MESSAGE) from error

    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    del run.__wrapped__  # the SDK must read the signature above, not look through to `fn`
    return run


class ObservedMCPServer(MCPServer):
    """An MCPServer whose tools are all observed (see `observed_tool`)."""

    def __init__(self, *args: Any, audit: AuditLog | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audit = audit or AuditLog()

    def add_tool(self, fn: Callable[..., Any], name: str | None = None, **kwargs: Any) -> None:
        tool = name or fn.__name__
        super().add_tool(observed_tool(fn, tool=tool, audit=self.audit), name=tool, **kwargs)
