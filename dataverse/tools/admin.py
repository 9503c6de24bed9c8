"""Connector housekeeping: `list_environments` (which Dataverse environments this server is configured for, so a
model knows what to pass as `environment`) and `sign_out` (ends the caller's sign-in: every access and refresh token
of their grant stops working, and the client must run the OAuth flow again).
"""

from __future__ import annotations

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import DataverseToolError
from dataverse.tools.kit.registry import READ_ONLY, WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel

group: ToolGroup[None] = ToolGroup("admin")


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


@group.tool(title="List environments", annotations=READ_ONLY, per_environment=False,
            description="The Dataverse environments this connector reaches, and the default one.")
async def list_environments(call: ToolCall) -> EnvironmentListResult:
    urls = call.runtime.environments
    return EnvironmentListResult(
        environments=[EnvironmentEntry(url=url, default=index == 0) for index, url in enumerate(urls)])


@group.tool(title="Sign out", annotations=WRITE.but(idempotent=True), per_environment=False,
            description="End this connection's sign-in when the user asks; they must reconnect afterwards.")
async def sign_out(call: ToolCall) -> SignOutResult:
    grant_id = str((call.caller.claims or {}).get("grant_id") or "")
    revoke = call.runtime.deps.revoke_grant
    if not grant_id or revoke is None:
        raise SignOutUnavailableError(
            "This connection cannot be signed out from here. Disconnect the connector in the client's settings "
            "instead."
        )
    await revoke(grant_id)
    return SignOutResult(
        signed_out=True,
        message="Signed out: this connection's tokens no longer work. Reconnect the connector to sign in again.",
    )
