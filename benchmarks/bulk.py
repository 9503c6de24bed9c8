"""Bulk changes: the Dataverse requests one confirmed bulk update of 100 rows makes (target: one `$batch`), and the
time per row, measured through the full app (proposal, then confirm_bulk_change) against the sandbox."""

from __future__ import annotations

import time
import uuid
from typing import Any

from benchmarks.apps import create_full_app, mcp_headers, serving, tool_payload, tools_call_body

ROWS = 100


async def measure_bulk() -> dict[str, Any]:
    full = create_full_app()
    from dataverse.sandbox.users import ALICE

    organization = full.runtime.organization
    deals = [row for row in organization.all_rows("opportunity") if row["ownerid"].id == ALICE.systemuser_id]
    for copy in range(ROWS - len(deals)):  # the seed gives alice fewer deals: add copies of hers until there are ROWS
        organization.put_row("opportunity", {**deals[copy % len(deals)], "opportunityid": str(uuid.uuid4())})
    deals = [row for row in organization.all_rows("opportunity") if row["ownerid"].id == ALICE.systemuser_id][:ROWS]
    rows = [{"id": deal["opportunityid"], "values": {"description": f"bulk {index}"}}
            for index, deal in enumerate(deals)]
    async with serving(full.app) as client:
        headers = mcp_headers(await full.sign_in(client))
        body = tools_call_body("bulk_update_records", {"table": "opportunity", "rows": rows})
        proposal = tool_payload(await client.post("/mcp", content=body, headers=headers))
        organization.stats.reset()
        started = time.perf_counter()
        done = tool_payload(await client.post("/mcp", content=tools_call_body(
            "confirm_bulk_change", {"confirmation_token": proposal["confirmation_token"]}), headers=headers))
        elapsed = time.perf_counter() - started
        paths = [path for _, path in organization.stats.requests()]
    if done["succeeded"] != len(rows):
        raise RuntimeError(f"bulk update applied {done['succeeded']} of {len(rows)} rows")
    return {
        "rows": len(rows),
        "dataverse_requests": len(paths),
        "batch_requests": sum(1 for path in paths if path.endswith("$batch")),
        "ms_per_row": elapsed * 1000 / len(rows),
    }
