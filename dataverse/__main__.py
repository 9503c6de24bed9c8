"""`python -m dataverse ...`: serve locally with uvicorn (sandbox mode when no Dataverse is configured), and small
helpers for the sandbox.

    python -m dataverse serve            # what `make run` does; PORT overrides 7071
"""

from __future__ import annotations

import argparse
import os

from dataverse.settings import Settings


def _local_settings(port: int) -> Settings:
    overrides = {}
    if "PUBLIC_BASE_URL" not in os.environ:
        overrides["public_base_url"] = f"http://127.0.0.1:{port}"
    return Settings(**overrides)


def _sandbox_banner(runtime, port: int) -> str:
    from dataverse.sandbox.users import SANDBOX_USERS

    base = runtime.settings.public_base_url
    lines = [
        "",
        "Dataverse MCP server - SANDBOX MODE (no DATAVERSE_URLS configured)",
        f"  MCP URL:              {base}/mcp",
        f"  Sandbox Dataverse:    {runtime.dataverse_url}/api/data/v9.2/",
        "",
        "  Sandbox users (password: sandbox):",
    ]
    for user in SANDBOX_USERS:
        lines.append(f"    {user.username:<6} {user.full_name:<14} {user.role:<8} {user.upn}")
    lines += [
        "",
        "  Connect an MCP client:",
        f"    npx @modelcontextprotocol/inspector   (transport: Streamable HTTP, URL: {base}/mcp)",
        "    and send one of these bearers (valid 12 h) in the Authorization header:",
    ]
    for user in SANDBOX_USERS:
        lines.append(f"      {user.username}: Bearer {runtime.user_token(user)}")
    lines.append("")
    return "\n".join(lines)


def serve(port: int) -> None:
    import uvicorn

    from dataverse.app import build_app, create_app_from_environment

    settings = _local_settings(port)
    if settings.sandbox_mode:
        from dataverse.sandbox.runtime import create_sandbox_runtime

        runtime = create_sandbox_runtime(settings)
        app = build_app(runtime.settings, runtime.deps)
        print(_sandbox_banner(runtime, port), flush=True)
    else:
        app = create_app_from_environment(settings)
        print(f"\nDataverse MCP server for {', '.join(settings.dataverse_urls)}\n  MCP URL: {settings.mcp_url}\n")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataverse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the app with uvicorn on 127.0.0.1:$PORT (default 7071)")
    args = parser.parse_args(argv)
    port = int(os.environ.get("PORT", "7071"))
    if args.command == "serve":
        serve(port)


if __name__ == "__main__":
    main()
