"""build_app(settings, deps) -> the ASGI app. It owns the route table and the wiring, nothing else:

    POST /mcp                          MCP (stateless, JSON responses) behind the bearer check; GET /mcp answers 405
    /.well-known/*, /register, /authorize, /consent, /oauth/callback, /token, /revoke    the OAuth proxy (oauth/)
    /health                            configuration and storage reachability, nothing secret
    /                                  the landing page for a person (landing.py)
    extra routes                       in sandbox mode, the sandbox Dataverse and Entra ID (passed in by the caller)

Outages answer 503 or a tool error that says so, never 500 or 401 (see dataverse/outages.py).

`create_app_from_environment()` is what Azure Functions and `func start` serve: settings from the environment, Table
Storage, and the Entra client with the managed identity's assertion (or a local secret or certificate). `jobs` is
the rest of what function_app.py runs (the durable expiry of delete proposals and the sweeper), so that the edge
imports this module and nothing else of the package.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from dataverse import jobs
from dataverse.jsonrpc_guard import JsonRpcEnvelopeGuard
from dataverse.landing import landing_endpoint
from dataverse.oauth.entra import EntraApi, EntraClient, MsalHttpClient
from dataverse.oauth.guard import transport_security_settings
from dataverse.oauth.routes import create_oauth
from dataverse.outages import StorageOutageMiddleware, tool_token_source
from dataverse.settings import Settings
from dataverse.storage.protocol import Store
from dataverse.telemetry import configure_telemetry
from dataverse.tools import build_mcp_server
from dataverse.tools.confirm.expiry import InProcessExpiryScheduler
from dataverse.tools.kit.context import ToolDeps
from dataverse.webapi.client import create_http_client

__all__ = ["AppDeps", "build_app", "create_app_from_environment", "entra_client_from_settings", "jobs"]

logger = logging.getLogger(__name__)

MAX_MCP_BODY_BYTES = 1024 * 1024
Schedule = Callable[[str, float], Awaitable[None]]


@dataclass
class AppDeps:
    """What the caller may inject. Defaults are what Azure uses; tests and the sandbox pass their own."""

    http: httpx.AsyncClient | None = None  # the pooled Dataverse client; a sandbox transport in sandbox mode
    store: Store | None = None  # shared state; Table Storage from settings by default
    entra: EntraApi | None = None  # the upstream identity provider client
    extra_routes: Sequence[BaseRoute] = field(default_factory=tuple)  # sandbox mounts
    schedule_expiry: Schedule | None = None  # Azure: a durable timer; else in-process
    clock: Callable[[], float] | None = None
    sandbox: bool = False  # the pages a person sees carry the sandbox banner


def entra_client_from_settings(
    settings: Settings, *, http_client: MsalHttpClient | None = None, authorize_endpoint: str | None = None
) -> EntraClient:
    """The Entra client for a real tenant: managed-identity assertion in Azure, else a local secret or certificate.
    `http_client` and `authorize_endpoint` are for a sandbox server standing in for Entra over loopback
    (dataverse.sandbox.serve); Azure passes neither."""
    from dataverse.oauth.entra import client_assertion_from_managed_identity

    credential: str | dict[str, Any]
    if settings.managed_identity_client_id:
        credential = {"client_assertion": client_assertion_from_managed_identity(settings.managed_identity_client_id)}
    elif settings.entra_certificate_path:
        with open(settings.entra_certificate_path, encoding="utf-8") as pem:
            credential = {"private_key": pem.read(), "thumbprint": settings.entra_certificate_thumbprint}
    elif settings.entra_client_secret:
        credential = settings.entra_client_secret
    else:
        raise ValueError(
            "No Entra credential: set MANAGED_IDENTITY_CLIENT_ID in Azure, or ENTRA_CLIENT_SECRET "
            "(or ENTRA_CERTIFICATE_PATH and ENTRA_CERTIFICATE_THUMBPRINT) for local development."
        )
    if not (settings.entra_tenant_id and settings.entra_client_id):
        raise ValueError("ENTRA_TENANT_ID and ENTRA_CLIENT_ID must be set (the app registration azd created).")
    return EntraClient(
        tenant_id=settings.entra_tenant_id,
        client_id=settings.entra_client_id,
        api_scope=f"api://{settings.entra_client_id}/{settings.mcp_scope}",
        authority_host=settings.entra_authority_host,
        client_credential=credential,
        http_client=http_client,
        authorize_endpoint=authorize_endpoint,
    )


async def _mcp_get_not_allowed(_: Request) -> Response:
    # JSON-response mode cannot stream; a GET would open an SSE stream that never ends on Functions.
    return Response(status_code=405, headers={"Allow": "POST"})


def _health_endpoint(store: Store) -> Callable[[Request], Awaitable[Response]]:
    async def health(_: Request) -> Response:
        checks = {"configuration": "ok", "storage": "ok"}
        try:
            await store.ping()
        except Exception:
            logger.warning("health: storage unreachable", exc_info=True)
            checks["storage"] = "unavailable"
        healthy = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503)

    return health


def _expiry_scheduling(
    schedule_expiry: Schedule | None, store: Store, clock: Callable[[], float]
) -> tuple[Schedule, InProcessExpiryScheduler | None]:
    """How delete proposals get expired: the caller's scheduler (Azure: a durable timer), else asyncio tasks in this
    process (returned too, so that shutdown can cancel them)."""
    if schedule_expiry is not None:
        return schedule_expiry, None
    in_process = InProcessExpiryScheduler(store, clock=clock)
    return in_process.schedule, in_process


def build_app(settings: Settings, deps: AppDeps | None = None) -> ASGIApp:
    """The whole HTTP surface for one deployment."""
    deps = deps or AppDeps()
    if not settings.dataverse_urls:
        raise ValueError(
            "DATAVERSE_URLS is empty: set it to your environment URL (e.g. https://contoso.crm.dynamics.com), "
            "or run `make run` for the built-in sandbox."
        )
    store = deps.store or jobs.store_from_settings(settings)
    entra = deps.entra or entra_client_from_settings(settings)
    clock = deps.clock or time.time
    oauth = create_oauth(settings, store=store, entra=entra, clock=clock, sandbox=deps.sandbox)
    http = deps.http or create_http_client(timeout=settings.dataverse_timeout_seconds)
    schedule_expiry, in_process_expiry = _expiry_scheduling(deps.schedule_expiry, store, clock)
    tool_deps = ToolDeps(
        settings=settings,
        http=http,
        dataverse_token=tool_token_source(oauth.dataverse_tokens.get_token),
        clock=clock,
        store=store,
        schedule_expiry=schedule_expiry,
        revoke_grant=oauth.revoke_grant,
    )
    mcp = build_mcp_server(
        tool_deps, auth=oauth.auth_settings, token_verifier=oauth.token_verifier, log_level="WARNING"
    )
    mcp_http = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,
        stateless_http=True,
        max_request_body_size=MAX_MCP_BODY_BYTES,
        transport_security=transport_security_settings(
            public_base_url=settings.public_base_url,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield
        await oauth.dataverse_tokens.flush()
        if in_process_expiry is not None:
            await in_process_expiry.aclose()
        if deps.http is None:
            await http.aclose()
        if deps.store is None:  # made here from the settings: its connections close with the app
            await store.close()

    routes: list[BaseRoute] = [
        Route("/health", _health_endpoint(store), methods=["GET"]),
        Route("/", landing_endpoint(settings, oauth.branding, store), methods=["GET"]),
        Route("/mcp", _mcp_get_not_allowed, methods=["GET"]),
        *oauth.routes,
        *deps.extra_routes,
        Mount("/", app=mcp_http),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.mcp_server = mcp
    app.state.oauth = oauth
    app.state.store = store
    return StorageOutageMiddleware(oauth.guard(JsonRpcEnvelopeGuard(app, max_body_bytes=MAX_MCP_BODY_BYTES)))


def create_app_from_environment(settings: Settings | None = None, *, deps: AppDeps | None = None) -> ASGIApp:
    """The app as Azure Functions serves it: settings from the environment; the host injects only its own parts."""
    settings = settings or Settings()
    configure_telemetry(settings)
    return build_app(settings, deps)
