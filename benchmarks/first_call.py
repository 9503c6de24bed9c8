"""Child process for the cold-start benchmark: `python -m benchmarks.first_call app|floor` answers one tools/call from
a fresh interpreter, prints `answered` (the parent times spawn-to-that-line), then one JSON line of extra figures.

The app child is a fresh instance of a running deployment, as Azure starts one when it scales out: it imports
function_app (as the Functions worker does), builds the app from the environment (Table Storage on Azurite, the
sandbox server as Dataverse and Entra ID over loopback: see benchmarks/processes.py) with the collector paused, as
function_app does, and answers `query_records` for BENCH_BEARER, a user who signed in on another instance before this
one existed. Nothing of the sandbox runs in it but the MSAL http_client that forwards to the sandbox Entra; importing
that is timed and reported, so the parent can take it out (`sandbox_import_ms`).

The floor child imports azure.functions and the MCP server and answers one tools/call from a bare MCPServer.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time


async def _first_call(kind: str) -> dict[str, float]:
    if kind == "app":
        import function_app  # noqa: F401 - the Azure worker imports the entry point first: part of our cold start
    else:
        import azure.functions  # noqa: F401 - the floor: an Azure Functions app serving a bare MCPServer

    from benchmarks.apps import QUERY_ARGUMENTS, mcp_headers, serving, tool_payload, tools_call_body

    report = {"sandbox_import_ms": 0.0}
    if kind == "app":
        from function_app import collector_paused

        with collector_paused():  # as function_app builds the app on a cold instance
            import dataverse.app  # noqa: F401 - what production imports, before the sandbox-only part is timed

            started = time.perf_counter()
            from dataverse.sandbox.serve.instance import create_app
            report["sandbox_import_ms"] = (time.perf_counter() - started) * 1000
            app = create_app()
        base_url, body = os.environ["PUBLIC_BASE_URL"], tools_call_body("query_records", QUERY_ARGUMENTS)
        headers = mcp_headers(os.environ["BENCH_BEARER"])
    else:
        from benchmarks.apps import BASE_URL, create_floor_app

        app, base_url, body, headers = create_floor_app(), BASE_URL, tools_call_body("constant", {}), mcp_headers()
    async with serving(app, base_url=base_url) as client:
        tool_payload(await client.post("/mcp", content=body, headers=headers))
        print("answered", flush=True)  # the parent's clock stops here
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_first_call(sys.argv[1]))), flush=True)
