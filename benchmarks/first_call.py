"""Child process for the cold-start benchmark: `python -m benchmarks.first_call app|floor` answers one tools/call from
a fresh interpreter, prints `answered` (the parent times spawn-to-that-line), then one JSON line of extra figures."""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def _first_call(kind: str) -> dict[str, float]:
    if kind == "app":
        import function_app  # noqa: F401 - the Azure worker imports the entry point first: part of our cold start
    else:
        import azure.functions  # noqa: F401 - the floor: an Azure Functions app serving a bare MCPServer

    from benchmarks.apps import QUERY_ARGUMENTS, mcp_headers, serving, tool_payload, tools_call_body

    if kind == "app":
        from function_app import collector_paused

        with collector_paused():  # as function_app builds the app on a cold instance
            import dataverse.app

            started = time.perf_counter()
            import dataverse.sandbox.runtime
            sandbox_import_ms = (time.perf_counter() - started) * 1000
            from benchmarks.apps import create_full_app

            full = create_full_app()
        app, body = full.app, tools_call_body("query_records", QUERY_ARGUMENTS)
    else:
        from benchmarks.apps import create_floor_app

        full, app, body = None, create_floor_app(), tools_call_body("constant", {})
    async with serving(app) as client:
        signing_in = time.perf_counter()  # the user signed in long before this instance started: timed, subtracted
        headers = mcp_headers(await full.seed_session() if full else None)
        sign_in_ms = (time.perf_counter() - signing_in) * 1000
        tool_payload(await client.post("/mcp", content=body, headers=headers))
    print("answered", flush=True)  # the parent's clock stops here
    report = {"sandbox_build_ms": 0.0, "sandbox_import_ms": 0.0, "table_storage_import_ms": 0.0,
              "sign_in_ms": sign_in_ms}
    if kind == "app":  # measured after the answer: what the sandbox costs (production never pays it), and what the
        # Table Storage SDK costs (production pays it before its first answer; the benchmark's memory store does not)
        from dataverse.sandbox.dataverse.organization import create_sandbox_organization

        started = time.perf_counter()
        create_sandbox_organization()
        report["sandbox_build_ms"] = (time.perf_counter() - started) * 1000
        report["sandbox_import_ms"] = sandbox_import_ms
        with collector_paused():
            started = time.perf_counter()
            import dataverse.storage.table  # noqa: F401
            report["table_storage_import_ms"] = (time.perf_counter() - started) * 1000
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_first_call(sys.argv[1]))), flush=True)
