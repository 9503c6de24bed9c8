"""Advertising MCP Apps on the 2025-11-25 handshake. The SDK lists its extensions in `server/discover` (2026-07-28) but
drops `capabilities.extensions` from a legacy `initialize` result, and Claude renders no widget for a server that does
not advertise `io.modelcontextprotocol/ui` there. This server middleware puts it back into the result.

Nothing else depends on what the client said it supports: on stateless HTTP each request is a new session, so a
legacy client's capabilities are unknown when its tools are called, and every result is the same for every client.
"""

from __future__ import annotations

import copy
from typing import Any

from mcp.server.apps import EXTENSION_ID
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from dataverse.tools.apps.extension import APPS_SETTINGS


async def advertise_apps_on_initialize(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Add the MCP Apps extension to the capabilities of an `initialize` result."""
    result = await call_next(ctx)
    if ctx.method == "initialize" and isinstance(result, dict):
        capabilities = result.setdefault("capabilities", {})
        extensions = capabilities.get("extensions") or {}
        capabilities["extensions"] = {**extensions, EXTENSION_ID: copy.deepcopy(APPS_SETTINGS)}
    return result
