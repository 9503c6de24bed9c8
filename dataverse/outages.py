"""How outages reach the caller: never as a 500, and never as a 401 (which would send the connector through sign-in
again). A request that fails because Table Storage is unreachable answers `503 {"error": "temporarily_unavailable"}`
with Retry-After; a tool whose Dataverse token cannot be obtained (Entra ID unreachable, grant expired, no admin
consent) gets a tool error that tells the model what to tell the user."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataverse.oauth.errors import DataverseTokenError, GrantExpiredError, UpstreamUnavailableError
from dataverse.storage.errors import StorageUnavailableError

logger = logging.getLogger(__name__)

OUTAGE_RETRY_AFTER_SECONDS = 5


def _caused_by_storage_outage(error: BaseException | None, depth: int = 0) -> bool:
    """True when `error`, its cause/context chain or an exception group member is a StorageUnavailableError."""
    if error is None or depth > 20:
        return False
    if isinstance(error, StorageUnavailableError):
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(_caused_by_storage_outage(inner, depth + 1) for inner in error.exceptions)
    return _caused_by_storage_outage(error.__cause__ or error.__context__, depth + 1)


class StorageOutageMiddleware:
    """Turns a request that failed because storage is unreachable into 503 temporarily_unavailable + Retry-After.

    Starlette's error middleware sends its 500 before re-raising, so a 500 start is held back until the app either
    finishes (the 500 goes out) or raises a storage outage (a 503 goes out instead)."""

    def __init__(self, app: ASGIApp, *, retry_after_seconds: int = OUTAGE_RETRY_AFTER_SECONDS) -> None:
        self._app = app
        self._retry_after = retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        held: list[Message] = []
        started = False

        async def holding_500(message: Message) -> None:
            nonlocal started
            if held or (message["type"] == "http.response.start" and message["status"] == 500):
                held.append(message)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, holding_500)
        except Exception as error:
            if started or not _caused_by_storage_outage(error):
                for message in held:
                    await send(message)
                raise
            logger.warning("storage unavailable during %s %s", scope.get("method"), scope.get("path"), exc_info=True)
            await self._send_unavailable(send)
            return
        for message in held:
            await send(message)

    async def _send_unavailable(self, send: Send) -> None:
        response = JSONResponse(
            {"error": "temporarily_unavailable",
             "error_description": "The service's storage is temporarily unavailable; nothing was changed. "
                                  "Retry shortly."},
            status_code=503,
            headers={"Retry-After": str(self._retry_after), "Cache-Control": "no-store"},
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def tool_token_source(
    get_token: Callable[[Any, str], Awaitable[str]],
) -> Callable[[Any, str], Awaitable[str]]:
    """The OBO token source for tools, its failures turned into tool errors the model can relay to the user."""

    async def dataverse_token(access_token: Any, environment_url: str) -> str:
        try:
            return await get_token(access_token, environment_url)
        except UpstreamUnavailableError as error:
            raise ToolError(
                "The sign-in service (Microsoft Entra ID) or the connector's token storage is temporarily "
                "unavailable, so no Dataverse token could be obtained. Nothing was changed and the user stays signed "
                "in; retry this call in a minute."
            ) from error
        except GrantExpiredError as error:
            raise ToolError(f"The user's sign-in is no longer valid ({error}). Reconnect the connector.") from error
        except DataverseTokenError as error:
            raise ToolError(str(error)) from error

    return dataverse_token
