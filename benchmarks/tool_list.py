"""What tools/list costs every conversation before its first question: the bytes of the `tools` array the full app
sends (compact JSON, as on the wire), and an estimate in tokens (bytes / 4) per tool."""

from __future__ import annotations

import itertools
import json
from typing import Any

from benchmarks.apps import create_full_app, mcp_headers, serving

BYTES_PER_TOKEN = 4
_ids = itertools.count(1)


async def measure_tool_list() -> dict[str, Any]:
    full = create_full_app()
    async with serving(full.app) as client:
        headers = mcp_headers(await full.sign_in(client))
        body = json.dumps({"jsonrpc": "2.0", "id": next(_ids), "method": "tools/list", "params": {}}).encode()
        response = await client.post("/mcp", content=body, headers=headers)
        response.raise_for_status()
        tools = response.json()["result"]["tools"]
    sizes = {tool["name"]: len(json.dumps(tool, separators=(",", ":"), ensure_ascii=False).encode())
             for tool in tools}
    total = sum(sizes.values())
    return {
        "tools": len(tools),
        "bytes": total,
        "tokens_per_tool": total / BYTES_PER_TOKEN / len(tools),
        "largest": dict(sorted(sizes.items(), key=lambda item: -item[1])[:3]),
    }
