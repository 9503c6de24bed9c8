"""Connector housekeeping tools: `list_environments` (which Dataverse environments this server is configured for, so a
model knows what to pass as `environment`) and `sign_out` (ends the caller's sign-in: every access and refresh token
of their grant stops working, and the client must run the OAuth flow again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from dataverse.tools.context import ToolRuntime, get_caller
from dataverse.tools.errors import DataverseToolError
from dataverse.tools.results import ResultModel, tool_result

SignOutListener = Callable[[str, str], Awaitable[None] | None]  # (user oid, grant id); the audit seam


class EnvironmentEntry(ResultModel):
    url: str = Field(description="Pass this as `environment` to any tool.")
    default: bool = Field(description="True for the environment used when `environment` is omitted.")


class EnvironmentListResult(ResultModel):
    environments: list[EnvironmentEntry]


class SignOutResult(ResultModel):
    signed_out: bool
    message: str


class SignOutUnavailableError(DataverseToolError):
    """The server cannot end this sign-in (no grant id on the token, or no revocation wired)."""


class AdminTools:
    def __init__(self, runtime: ToolRuntime, *, on_sign_out: SignOutListener | None = None):
        self.runtime = runtime
        self.on_sign_out = on_sign_out

    async def list_environments(self) -> Annotated[CallToolResult, EnvironmentListResult]:
        get_caller()  # signed-in callers only, like every other tool
        urls = self.runtime.environments
        return tool_result(EnvironmentListResult(
            environments=[EnvironmentEntry(url=url, default=index == 0) for index, url in enumerate(urls)]
        ))

    async def sign_out(self) -> Annotated[CallToolResult, SignOutResult]:
        caller = get_caller()
        grant_id = str((caller.claims or {}).get("grant_id") or "")
        revoke = self.runtime.deps.revoke_grant
        if not grant_id or revoke is None:
            raise SignOutUnavailableError(
                "This connection cannot be signed out from here. Disconnect the connector in the client's settings "
                "instead."
            )
        await revoke(grant_id)
        if self.on_sign_out is not None:
            outcome = self.on_sign_out(caller.subject or "", grant_id)
            if outcome is not None:
                await outcome
        return tool_result(SignOutResult(
            signed_out=True,
            message="Signed out: this connection's tokens no longer work. Reconnect the connector to sign in again.",
        ))


def register_admin_tools(server: MCPServer, runtime: ToolRuntime, *,
                         on_sign_out: SignOutListener | None = None) -> AdminTools:
    """Add list_environments (read-only) and sign_out (ends the caller's own sign-in)."""
    tools = AdminTools(runtime, on_sign_out=on_sign_out)
    server.add_tool(
        tools.list_environments, name="list_environments", title="List environments",
        description="The Dataverse environments this connector can reach, and which one is the default. Pass a URL "
                    "from here as `environment` to work in another environment.",
        annotations=ToolAnnotations(title="List environments", readOnlyHint=True, destructiveHint=False,
                                    idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    server.add_tool(
        tools.sign_out, name="sign_out", title="Sign out",
        description="Sign the user out of this connector: ends this connection's sign-in so its tokens stop "
                    "working. Only when the user asks to sign out or disconnect; they must reconnect afterwards.",
        annotations=ToolAnnotations(title="Sign out", readOnlyHint=False, destructiveHint=False,
                                    idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    return tools
