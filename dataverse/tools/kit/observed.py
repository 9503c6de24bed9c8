"""Every tool call observed in one place: a telemetry span (Dataverse request spans nest under it) and exactly one
audit event (user, client, tool, environment, table, record id, outcome, latency, Dataverse request id; never
arguments' contents). The registry applies it to every tool it makes, so no tool can forget it.
A storage outage during a tool (delete proposals live in storage) becomes a tool error that says so and asks for a
retry, instead of the SDK's bare "Error executing tool".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver.exceptions import ToolError

from dataverse.audit import AuditLog
from dataverse.storage.errors import StorageUnavailableError
from dataverse.telemetry import tool_span

STORAGE_UNAVAILABLE_MESSAGE = (
    "The connector's storage is temporarily unavailable, so this call could not complete and no record was deleted. "
    "Retry in a minute; if this was delete_record, use only the confirmation token a successful retry returns."
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def observed(fn: Callable[..., Awaitable[Any]], *, tool: str, audit: AuditLog) -> Callable[..., Awaitable[Any]]:
    """`fn` (async, keyword arguments) run inside a span and an audit event."""

    async def run(**kwargs: Any) -> Any:
        caller = get_access_token()
        environment, table, record_id = _text(kwargs.get("environment")), _text(kwargs.get("table")), _text(
            kwargs.get("id"))
        async with tool_span(f"tool {tool}", tool=tool, environment=environment,
                             user_oid=caller.subject if caller else None):
            async with audit.audited(tool, access_token=caller, environment=environment, table=table,
                                     record_id=record_id):
                try:
                    return await fn(**kwargs)
                except StorageUnavailableError as error:
                    raise ToolError(STORAGE_UNAVAILABLE_MESSAGE) from error

    return run
