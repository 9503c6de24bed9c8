"""The sandbox server: the sandbox Dataverse at /sandbox/dataverse and the sandbox Entra ID at /sandbox/entra, served
on loopback by their own process (`python -m dataverse sandbox [--port N] [--app-url URL ...]`).

One process holds the organisation, the Entra directory (codes, refresh tokens) and the signing key they share, so it
runs as a single worker. `public_url` is the URL it answers as (the Dataverse environment URL and the Entra sign-in
page are built from it); it differs from where it listens only behind a proxy, e.g. the benchmarks' latency proxy.
`app_urls` are the public URLs of the app deployments allowed to sign users in: each one's /oauth/callback is a
redirect URI of the sandbox app registration, as `azd up` registers the real one.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.entra import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_ENTRA_MOUNT_PATH,
    SandboxAppRegistry,
    create_sandbox_entra_app,
)
from dataverse.sandbox.serve import SANDBOX_DATAVERSE_PATH
from dataverse.sandbox.users import SANDBOX_TENANT_ID

DEFAULT_SANDBOX_PORT = 7000
DEFAULT_APP_URL = "http://127.0.0.1:7071"


@dataclass
class SandboxServer:
    """The sandbox server's ASGI app and the state tests may look at (in the same process only)."""

    app: Starlette
    public_url: str
    organization: SandboxOrganization
    registry: SandboxAppRegistry

    @property
    def dataverse_url(self) -> str:
        return self.public_url + SANDBOX_DATAVERSE_PATH

    def app_settings(self, *, app_url: str, token_encryption_key: str | None = None) -> dict[str, str]:
        """The environment an app instance needs to use this sandbox as its Dataverse and Entra ID."""
        key = token_encryption_key or base64.b64encode(secrets.token_bytes(32)).decode()
        return {
            "PUBLIC_BASE_URL": app_url,
            "DATAVERSE_URLS": self.dataverse_url,
            "SANDBOX_SERVER_URL": self.public_url,
            "ENTRA_TENANT_ID": SANDBOX_TENANT_ID,
            "ENTRA_CLIENT_ID": SANDBOX_CLIENT_ID,
            "ENTRA_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "TOKEN_ENCRYPTION_KEY": key,
        }


def create_sandbox_server(
    public_url: str,
    *,
    app_urls: Sequence[str] = (DEFAULT_APP_URL,),
    seed: int = 7,
    auditing: bool = True,
    today: date | None = None,
) -> SandboxServer:
    """The sandbox Dataverse and Entra ID answering as `public_url`, for the app deployments at `app_urls`."""
    public_url = public_url.rstrip("/")
    dataverse_url = public_url + SANDBOX_DATAVERSE_PATH
    organization = create_sandbox_organization(seed=seed, today=today, auditing=auditing)
    dataverse_app = create_sandbox_dataverse_app(
        organization=organization, base_url=dataverse_url, verify_token=sandbox_token_verifier(dataverse_url)
    )
    registry = SandboxAppRegistry.create_default(
        redirect_uris=[f"{url.rstrip('/')}/oauth/callback" for url in app_urls]
    )
    entra_app = create_sandbox_entra_app(public_base_url=public_url, registry=registry)

    async def index(_: Request) -> Response:
        return JSONResponse({
            "sandbox": "Dataverse and Entra ID stand-ins for local development and tests; never deployed",
            "dataverse_url": dataverse_url,
            "entra_sign_in": f"{public_url}{SANDBOX_ENTRA_MOUNT_PATH}/",
            "app_urls": [url.rstrip("/") for url in app_urls],
        })

    app = Starlette(routes=[
        Route("/", index, methods=["GET"]),
        Mount(SANDBOX_DATAVERSE_PATH, app=dataverse_app),
        Mount(SANDBOX_ENTRA_MOUNT_PATH, app=entra_app),
    ])
    return SandboxServer(app=app, public_url=public_url, organization=organization, registry=registry)


def sandbox_banner(server: SandboxServer, *, app_urls: Sequence[str]) -> str:
    """What `python -m dataverse sandbox` prints: where it serves and the settings that point an app at it."""
    settings = server.app_settings(app_url=app_urls[0])
    lines = [
        "",
        "Sandbox server: Dataverse and Entra ID stand-ins (never deployed)",
        f"  Sandbox Dataverse:  {server.dataverse_url}/api/data/v9.2/",
        f"  Sandbox sign-in:    {server.public_url}{SANDBOX_ENTRA_MOUNT_PATH}/",
        f"  Apps allowed to sign users in: {', '.join(app_urls)}",
        "",
        "  Serve an app instance against it (several instances: one STORAGE_CONNECTION_STRING and this same key):",
        *(f"    export {name}={value}" for name, value in settings.items()),
        "    .venv/bin/python -m dataverse serve",
        "",
    ]
    return "\n".join(lines)


def serve_sandbox(*, port: int, public_url: str | None = None, app_urls: Sequence[str] = (DEFAULT_APP_URL,)) -> None:
    """Serve the sandbox on 127.0.0.1:`port` until interrupted (one process: it holds the sandbox's state)."""
    import uvicorn

    server = create_sandbox_server(public_url or f"http://127.0.0.1:{port}", app_urls=app_urls)
    print(sandbox_banner(server, app_urls=list(app_urls)), flush=True)
    uvicorn.run(server.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
