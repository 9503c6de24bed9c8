"""Who the caller is: `whoami`, the signed-in Dataverse user (id, name, email, business unit, time zone)."""

from __future__ import annotations

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.schema.lookup import WhoAmIResult, get_whoami

group: ToolGroup[None] = ToolGroup("identity")


@group.tool(title="Who am I", annotations=READ_ONLY,
            description="The signed-in Dataverse user: id, name, email, business unit and time zone.")
async def whoami(call: ToolCall) -> WhoAmIResult:
    return await get_whoami(call)
