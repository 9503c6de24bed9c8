"""Sandbox mode wiring: one process serves the app, the sandbox Dataverse and the sandbox Entra ID (`make run`; the
sandbox in a process of its own is dataverse.sandbox.serve).

`create_sandbox_runtime(settings)` returns the settings and AppDeps that make `dataverse.app.build_app` run against
the sandbox with the production code paths unchanged: the real OAuth proxy and MSAL client (whose http_client carries
login.microsoftonline.com into the sandbox Entra in-process), and a pooled Dataverse client whose transport sends
calls straight into the sandbox Dataverse ASGI app, as the production client would send them over the network.
Only the demo entry point, the benchmarks and the tests import this module.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from dataverse.app import AppDeps, build_app
from dataverse.oauth.entra import EntraClient
from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.entra import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_ENTRA_MOUNT_PATH,
    SandboxAppRegistry,
    create_sandbox_entra_app,
)
from dataverse.sandbox.entra.in_process import in_process_entra_client_options
from dataverse.sandbox.serve import SANDBOX_DATAVERSE_PATH
from dataverse.sandbox.signin import sign_in
from dataverse.sandbox.users import SANDBOX_TENANT_ID, SandboxUser
from dataverse.settings import Settings
from dataverse.storage.protocol import Store
from dataverse.webapi.client import create_http_client

__all__ = ["SANDBOX_DATAVERSE_PATH", "SandboxRuntime", "create_sandbox_runtime"]


@dataclass
class SandboxRuntime:
    settings: Settings
    deps: AppDeps
    organization: SandboxOrganization
    entra_registry: SandboxAppRegistry
    dataverse_url: str

    def build_app(self) -> ASGIApp:
        return build_app(self.settings, self.deps)

    async def sign_in(self, app: ASGIApp | None, user: SandboxUser, *, client: httpx.AsyncClient | None = None) -> str:
        """An access token for `user`, obtained through the app's real OAuth flow (`app` in-process, or `client`)."""
        token = await sign_in(app, base_url=self.settings.public_base_url, user=user, client=client)
        return str(token["access_token"])


def create_sandbox_runtime(
    settings: Settings,
    *,
    seed: int = 7,
    auditing: bool = True,
    today: date | None = None,
    store: Store | None = None,
    clock: Callable[[], float] | None = None,
) -> SandboxRuntime:
    """Everything sandbox mode needs, for settings with no DATAVERSE_URLS."""
    base = settings.public_base_url
    dataverse_url = base + SANDBOX_DATAVERSE_PATH
    organization = create_sandbox_organization(seed=seed, today=today, auditing=auditing)
    dataverse_app = create_sandbox_dataverse_app(
        organization=organization, base_url=dataverse_url, verify_token=sandbox_token_verifier(dataverse_url)
    )
    registry = SandboxAppRegistry.create_default(redirect_uris=[f"{base}/oauth/callback"])
    entra_app = create_sandbox_entra_app(public_base_url=base, registry=registry)
    entra = EntraClient(**in_process_entra_client_options(
        entra_app, public_base_url=base, tenant_id=SANDBOX_TENANT_ID, client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
    ))
    in_process_dataverse = Starlette(routes=[Mount(SANDBOX_DATAVERSE_PATH, app=dataverse_app)])
    http = create_http_client(
        transport=httpx.ASGITransport(app=in_process_dataverse), timeout=settings.dataverse_timeout_seconds
    )
    sandbox_settings = settings.model_copy(update={
        "dataverse_urls": [dataverse_url],
        "entra_tenant_id": SANDBOX_TENANT_ID,
        "entra_client_id": SANDBOX_CLIENT_ID,
        "token_encryption_key": settings.token_encryption_key or base64.b64encode(secrets.token_bytes(32)).decode(),
    })
    deps = AppDeps(
        http=http,
        store=store,
        entra=entra,
        extra_routes=[Mount(SANDBOX_DATAVERSE_PATH, app=dataverse_app), Mount(SANDBOX_ENTRA_MOUNT_PATH, app=entra_app)],
        clock=clock,
        sandbox=True,
    )
    return SandboxRuntime(
        settings=sandbox_settings, deps=deps, organization=organization, entra_registry=registry,
        dataverse_url=dataverse_url,
    )
