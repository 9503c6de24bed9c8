"""build_app(settings, deps) -> the ASGI app. It owns the route table and the wiring, nothing else:

    POST /mcp                       MCP (stateless, JSON responses) behind the bearer check; GET /mcp answers 405
    /.well-known/*, OAuth endpoints  discovery and the authorization server (when OAuth is wired)
    /health                         configuration and storage reachability, nothing secret
    extra routes                    in sandbox mode, the sandbox Dataverse and Entra ID (passed in by the caller)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from dataverse.settings import Settings
from dataverse.tools.context import ToolDeps
from dataverse.tools.server import build_mcp_server
from dataverse.webapi.client import create_http_client

logger = logging.getLogger(__name__)

MAX_MCP_BODY_BYTES = 1024 * 1024
DataverseTokenSource = Callable[[AccessToken, str], Awaitable[str]]


@dataclass
class AppDeps:
    """What the caller may inject. Defaults are what Azure uses; tests and the sandbox pass their own."""

    http: httpx.AsyncClient | None = None  # the pooled Dataverse client; a sandbox transport in sandbox mode
    token_verifier: TokenVerifier | None = None  # who may call /mcp
    dataverse_token: DataverseTokenSource | None = None  # the caller's Dataverse bearer (OBO in production)
    extra_routes: Sequence[BaseRoute] = field(default_factory=tuple)  # sandbox mounts
    health_checks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding and Origin guard for /mcp: the public host plus any configured extras."""
    public = urlsplit(settings.public_base_url)
    origin = f"{public.scheme}://{public.netloc}"
    hosts = {public.netloc, *settings.allowed_hosts}
    origins = {origin, *settings.allowed_origins}
    if public.hostname in ("127.0.0.1", "localhost"):
        hosts |= {"127.0.0.1:*", "localhost:*", "127.0.0.1", "localhost"}
        origins |= {"http://127.0.0.1:*", "http://localhost:*"}
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=sorted(hosts), allowed_origins=sorted(origins)
    )


async def _mcp_get_not_allowed(_: Request) -> Response:
    # JSON-response mode cannot stream; a GET would open an SSE stream that never ends on Functions.
    return Response(status_code=405, headers={"Allow": "POST"})


def build_app(settings: Settings, deps: AppDeps | None = None) -> Starlette:
    """The whole HTTP surface for one deployment."""
    deps = deps or AppDeps()
    if not settings.dataverse_urls:
        raise ValueError(
            "DATAVERSE_URLS is empty: set it to your environment URL (e.g. https://contoso.crm.dynamics.com), "
            "or run `make run` for the built-in sandbox."
        )
    if deps.token_verifier is None or deps.dataverse_token is None:
        raise ValueError("build_app needs a token verifier and a Dataverse token source")
    http = deps.http or create_http_client(timeout=settings.dataverse_timeout_seconds)
    tool_deps = ToolDeps(settings=settings, http=http, dataverse_token=deps.dataverse_token)
    auth = AuthSettings(
        issuer_url=settings.public_base_url,
        resource_server_url=settings.mcp_url,
        required_scopes=[settings.mcp_scope] if settings.mcp_scope else None,
    )
    mcp = build_mcp_server(tool_deps, auth=auth, token_verifier=deps.token_verifier)
    mcp_http = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,
        stateless_http=True,
        max_request_body_size=MAX_MCP_BODY_BYTES,
        transport_security=transport_security(settings),
    )

    async def health(_: Request) -> Response:
        checks: dict[str, str] = {"configuration": "ok"}
        healthy = True
        for name, check in deps.health_checks.items():
            try:
                await check()
                checks[name] = "ok"
            except Exception:  # noqa: BLE001 - health reports, never raises; details stay in the logs
                logger.warning("health check %s failed", name, exc_info=True)
                checks[name] = "unavailable"
                healthy = False
        return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield
        if deps.http is None:
            await http.aclose()

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/mcp", _mcp_get_not_allowed, methods=["GET"]),
        *deps.extra_routes,
        Mount("/", app=mcp_http),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.mcp_server = mcp
    app.state.settings = settings
    return app

