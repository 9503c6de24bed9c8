"""The one way a tool result is sent. Result models (each group defines its own) derive from `ResultModel`; the
registry sends one as a `CallToolResult` whose structured content is the model dumped without nulls and whose text
content is the same JSON, compact: clients that only read text get exactly the same data. `text_result` is for the
tools whose contract is a JSON text item only (search and fetch)."""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict


class ResultModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def compact_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def tool_result(result: ResultModel) -> CallToolResult:
    """The wire form of a result: nulls left out, compact JSON text mirroring the structured content."""
    data = result.model_dump(mode="json", exclude_none=True)
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data))], structured_content=data)


def text_result(data: dict[str, Any]) -> CallToolResult:
    """A result that is one JSON text item and no structured content."""
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))])
