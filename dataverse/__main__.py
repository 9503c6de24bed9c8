"""`python -m dataverse ...`: serve locally with uvicorn (sandbox mode when no Dataverse is configured), and small
helpers for the sandbox.

    python -m dataverse serve            # what `make run` does; PORT overrides 7071
    python -m dataverse token alice      # sign alice in to the running sandbox server; print her bearer
    python -m dataverse sandbox          # the sandbox Dataverse and Entra ID alone, on 127.0.0.1:7000 (--port)

`serve` runs everything in one process when no Dataverse is configured. With SANDBOX_SERVER_URL set it serves the app
alone, using a running `sandbox` as its Dataverse and Entra ID over loopback (dataverse.sandbox.serve), so several
instances can share one sandbox and one Table Storage.

`token` finds the server `serve` started: `serve` notes its URL in a small record file (in the temp directory, per
user; DATAVERSE_SERVE_RECORD overrides the path) that `token` reads, so `PORT=8080 make run` and then the banner's
`token` command work together. `--url`, PUBLIC_BASE_URL or PORT, when given, win over the record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dataverse.settings import Settings

if TYPE_CHECKING:
    from dataverse.sandbox.runtime import SandboxRuntime


DEFAULT_PORT = 7071
DEFAULT_SANDBOX_PORT = 7000  # == dataverse.sandbox.serve.server.DEFAULT_SANDBOX_PORT (not imported: kept light)
DEFAULT_APP_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def serve_record_path() -> Path:
    configured = os.environ.get("DATAVERSE_SERVE_RECORD")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"dataverse-mcp-serve-{os.getuid()}.json"


@contextlib.contextmanager
def _serve_record(base_url: str) -> Iterator[None]:
    """Note where this process serves, for `token`; removed when serving stops."""
    path = serve_record_path()
    with contextlib.suppress(OSError):  # unwritable: `token` then falls back to PORT or the default port
        path.write_text(json.dumps({"base_url": base_url, "pid": os.getpid()}), encoding="utf-8")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()


def _recorded_base_url() -> str | None:
    """The URL a running `serve` noted, or None when there is none or its process is gone."""
    try:
        record = json.loads(serve_record_path().read_text(encoding="utf-8"))
        os.kill(int(record["pid"]), 0)
        return str(record["base_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def token_base_url(explicit_url: str | None) -> str:
    """Where `token` signs in: --url, else PUBLIC_BASE_URL or PORT, else the running `serve`, else port 7071."""
    if explicit_url:
        return explicit_url.rstrip("/")
    if "PUBLIC_BASE_URL" in os.environ or "PORT" in os.environ:
        return _local_settings(int(os.environ.get("PORT", str(DEFAULT_PORT)))).public_base_url
    return _recorded_base_url() or f"http://127.0.0.1:{DEFAULT_PORT}"


def _local_settings(port: int) -> Settings:
    if "PUBLIC_BASE_URL" in os.environ:
        return Settings()
    return Settings(public_base_url=f"http://127.0.0.1:{port}")


def _sandbox_banner(runtime: SandboxRuntime) -> str:
    from dataverse.sandbox.users import SANDBOX_USERS

    base = runtime.settings.public_base_url
    lines = [
        "",
        "Dataverse MCP server - SANDBOX MODE (no DATAVERSE_URLS configured)",
        f"  MCP URL:            {base}/mcp",
        f"  Sandbox Dataverse:  {runtime.dataverse_url}/api/data/v9.2/",
        f"  Sandbox sign-in:    {base}/sandbox/entra/ (Entra ID stand-in)",
        "",
        "  Sandbox users (password: sandbox):",
    ]
    for user in SANDBOX_USERS:
        lines.append(f"    {user.username:<6} {user.full_name:<13} {user.role:<8} {user.upn}")
    lines += [
        "",
        "  Connect an MCP client that does OAuth (it registers, shows our consent page, then the sandbox sign-in):",
        f"    npx @modelcontextprotocol/inspector   -> Streamable HTTP, URL {base}/mcp",
        f"    npx mcp-remote {base}/mcp",
        "  Or get a bearer for curl through the same flow:",
        "    .venv/bin/python -m dataverse token alice",
        "",
    ]
    return "\n".join(lines)


def serve(port: int) -> None:
    import uvicorn

    from dataverse.app import create_app_from_environment

    settings = _local_settings(port)
    if settings.sandbox_server_url:
        from dataverse.sandbox.serve.instance import create_app, settings_for_sandbox_server

        settings = settings_for_sandbox_server(settings)
        app = create_app(settings)
        print(f"\nDataverse MCP server using the sandbox server at {settings.sandbox_server_url}\n"
              f"  MCP URL: {settings.mcp_url}\n", flush=True)
    elif settings.sandbox_mode:
        from dataverse.sandbox.runtime import create_sandbox_runtime

        runtime = create_sandbox_runtime(settings)
        app = runtime.build_app()
        print(_sandbox_banner(runtime), flush=True)
    else:
        app = create_app_from_environment(settings)
        print(f"\nDataverse MCP server for {', '.join(settings.dataverse_urls)}\n  MCP URL: {settings.mcp_url}\n")
    with _serve_record(settings.public_base_url):
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def print_token(username: str, base_url: str) -> None:
    """Sign a sandbox user in against the running `make run` server and print the access token."""
    import asyncio

    import httpx

    from dataverse.sandbox.signin import sign_in
    from dataverse.sandbox.users import user_by_username

    try:
        user = user_by_username(username)
    except KeyError:
        raise SystemExit(f"token: no sandbox user {username!r}; try alice, bob or carol") from None

    async def run() -> dict[str, object]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await sign_in(None, base_url=base_url, user=user, client=client)

    try:
        token = asyncio.run(run())
    except httpx.ConnectError:
        raise SystemExit(f"token: nothing answers at {base_url}; start it with `make run`") from None
    print(token["access_token"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataverse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the app with uvicorn on 127.0.0.1:$PORT (default 7071)")
    token = sub.add_parser("token", help="sign a sandbox user in against the running server; print the bearer")
    token.add_argument("username", help="alice, bob or carol")
    token.add_argument("--url", help="the server's base URL (default: the running `serve`, else port 7071)")
    sandbox = sub.add_parser("sandbox", help="serve the sandbox Dataverse and Entra ID alone, for app instances")
    sandbox.add_argument("--port", type=int, default=DEFAULT_SANDBOX_PORT, help=f"default {DEFAULT_SANDBOX_PORT}")
    sandbox.add_argument("--app-url", action="append", dest="app_urls", metavar="URL",
                         help=f"an app's public URL allowed to sign users in (repeatable; default {DEFAULT_APP_URL})")
    sandbox.add_argument("--public-url", help="the URL it answers as, when behind a proxy (default: its own)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(int(os.environ.get("PORT", str(DEFAULT_PORT))))
    elif args.command == "sandbox":
        from dataverse.sandbox.serve.server import serve_sandbox

        serve_sandbox(port=args.port, public_url=args.public_url, app_urls=args.app_urls or [DEFAULT_APP_URL])
    else:
        print_token(args.username, token_base_url(args.url))


if __name__ == "__main__":
    main()
