"""Child process for the throughput benchmark: `python -m benchmarks.serve app|floor PORT` serves one uvicorn worker
on 127.0.0.1:PORT and prints one JSON line first: the bearer token to use (the sandbox signing key is per process)."""

from __future__ import annotations

import asyncio
import json
import sys

import uvicorn


async def main(kind: str, port: int) -> None:
    from benchmarks.apps import create_floor_app, create_full_app

    full = create_full_app(base_url=f"http://127.0.0.1:{port}") if kind == "app" else None
    app = full.app if full else create_floor_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    token = await full.sign_in() if full else ""  # the app's own OAuth flow, in this process (same store)
    print(json.dumps({"token": token}), flush=True)
    await serving


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
