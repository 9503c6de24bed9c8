"""What a tool call runs with: the process-wide dependencies (`ToolDeps`), the per-server runtime built from them
(metadata cache, cursor codec, each tool group's state), and the per-call view (`ToolCall`: who is calling, which
environment, a Dataverse client acting as that user, and the runtime).

The caller comes from the MCP SDK's auth context (the bearer token the middleware verified); a tool never takes a
user id as an argument, so a model cannot ask for someone else's data.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from dataverse.audit import AuditLog
from dataverse.settings import Settings
from dataverse.storage.protocol import Store
from dataverse.telemetry import on_dataverse_response
from dataverse.tools.kit.cache import MetadataCache, TTLCache
from dataverse.tools.kit.cursor import CursorCodec, StateCursor, cursor_key_from_settings, wrong_tool_error
from dataverse.tools.kit.errors import NotSignedInError, unknown_environment_error
from dataverse.webapi.client import DataverseClient
from dataverse.webapi.retry import RetryPolicy


@dataclass
class ToolDeps:
    """Everything the tools need from the composition root."""

    settings: Settings
    http: httpx.AsyncClient  # the process-wide pooled client
    dataverse_token: Callable[[AccessToken, str], Awaitable[str]]  # (caller's MCP token, environment url) -> bearer
    retry: RetryPolicy | None = None
    clock: Callable[[], float] = time.time
    cursor_key: bytes | None = field(default=None, repr=False)  # default: derived from settings
    store: Store | None = None  # shared state (delete proposals); None where no tool needs it
    schedule_expiry: Callable[[str, float], Awaitable[None]] | None = None  # (proposal key, expires_at) -> expiry timer
    revoke_grant: Callable[[str], Awaitable[None]] | None = None  # ends the caller's sign-in (sign_out)
    audit: AuditLog = field(default_factory=AuditLog)  # one event per tool call, and the delete proposals' events


def get_caller() -> AccessToken:
    """The verified access token of the user making this MCP request; NotSignedInError if there is none."""
    token = get_access_token()
    if token is None or not token.subject:
        raise NotSignedInError(
            "No signed-in user reached this tool, so Dataverse cannot be called on anyone's behalf. "
            "The connector must be connected with OAuth (sign in again)."
        )
    return token


@dataclass(frozen=True)
class ToolCall:
    """One tool invocation: the caller, the environment URL, a Dataverse client acting as the caller, and the
    runtime of the server it came to."""

    caller: AccessToken
    environment: str
    client: DataverseClient
    runtime: ToolRuntime

    @property
    def user(self) -> str:
        """The caller's Entra object id (the key for per-user caches and cursor binding)."""
        return self.caller.subject or ""

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def resume(self, cursor: str, tool: str) -> dict[str, Any]:
        """The position a cursor `tool` issued to this caller holds; InvalidCursorError naming the tool it belongs
        to when it came from another."""
        position = self.runtime.cursors.decode(cursor, user=self.user, environment=self.environment)
        if not isinstance(position, StateCursor) or position.tool != tool:
            raise wrong_tool_error(position)
        return position.state

    def cursor_for(self, tool: str, state: dict[str, Any]) -> str:
        """A signed cursor that continues `tool` from `state`, usable only by this caller in this environment."""
        return self.runtime.cursors.encode(StateCursor(tool=tool, state=state), user=self.user,
                                           environment=self.environment)

    def in_environment(self, environment: str) -> ToolCall:
        """The same caller, working in `environment` (a configured environment URL or its host)."""
        url = self.runtime.resolve_environment(environment)
        return ToolCall(caller=self.caller, environment=url, client=self.runtime.create_client(self.caller, url),
                        runtime=self.runtime)


class ToolRuntime:
    """State shared by every call to one MCP server: dependencies, the metadata cache and the cursor codec."""

    def __init__(self, deps: ToolDeps, *, cache_max_entries: int = 4096):
        self.deps = deps
        self.settings = deps.settings
        self.audit = deps.audit
        self.metadata = MetadataCache(TTLCache(max_entries=cache_max_entries, clock=deps.clock))
        self.cursors = CursorCodec(deps.cursor_key or cursor_key_from_settings(deps.settings), clock=deps.clock)
        self.retry = deps.retry or RetryPolicy(budget_seconds=deps.settings.dataverse_retry_budget_seconds)
        self.group_states: dict[str, Any] = {}  # tool group name -> the state its `setup` made (see kit/registry.py)

    @property
    def environments(self) -> list[str]:
        return list(self.settings.dataverse_urls)

    def resolve_environment(self, environment: str | None = None) -> str:
        """The configured environment URL named by `environment` (default: the first); never an arbitrary URL."""
        configured = self.environments
        if not configured:
            raise RuntimeError("settings.dataverse_urls is empty: the composition root must set the environment")
        if environment is None or not environment.strip():
            return configured[0]
        wanted = environment.strip().rstrip("/").lower()
        for url in configured:
            if url.lower() == wanted or url.lower().split("://", 1)[-1] == wanted:
                return url
        raise unknown_environment_error(environment, configured)

    def create_client(self, caller: AccessToken, environment: str) -> DataverseClient:
        """A Dataverse client for `environment` whose every request carries a token obtained for `caller`."""

        async def token_source() -> str:
            return await self.deps.dataverse_token(caller, environment)

        return DataverseClient(environment, token_source, http=self.deps.http, retry=self.retry,
                               on_response=functools.partial(on_dataverse_response, environment_url=environment))

    def begin_call(self, environment: str | None = None) -> ToolCall:
        """The ToolCall for the current MCP request; raises NotSignedInError / UnknownEnvironmentError."""
        caller = get_caller()
        url = self.resolve_environment(environment)
        return ToolCall(caller=caller, environment=url, client=self.create_client(caller, url), runtime=self)
