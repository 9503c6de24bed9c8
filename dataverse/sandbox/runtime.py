"""Sandbox mode wiring: one process serves the app, the sandbox Dataverse and the sandbox sign-in.

`create_sandbox_runtime(public_base_url)` returns the settings and AppDeps that make `dataverse.app.build_app` run
against the in-process sandbox: the sandbox routes mounted under /sandbox/, and a pooled HTTP client whose transport
sends Dataverse calls straight into the sandbox ASGI app (no socket), exactly as the production client would send them
over the network. Only the demo entry point and the tests import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import httpx
import jwt
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.app import AppDeps
from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.identity import mint_user_token, process_signing_key, sandbox_issuer
from dataverse.sandbox.users import SandboxUser
from dataverse.settings import Settings
from dataverse.webapi.client import create_http_client

SANDBOX_DATAVERSE_PATH = "/sandbox/dataverse"
SANDBOX_ENTRA_PATH = "/sandbox/entra"
SANDBOX_CLIENT_ID = "5a4db0c5-0000-4000-8000-00000000c11e"


@dataclass
class SandboxRuntime:
    settings: Settings
    deps: AppDeps
    organization: SandboxOrganization
    dataverse_url: str

    def user_token(self, user: SandboxUser, *, lifetime_seconds: int = 12 * 3600) -> str:
        """A sandbox bearer for `user`: valid for the sandbox Dataverse and, in sandbox mode, for /mcp."""
        return mint_user_token(
            user,
            audience=self.dataverse_url,
            issuer=sandbox_issuer(self.settings.public_base_url + SANDBOX_ENTRA_PATH),
            scopes=["user_impersonation"],
            client_id=SANDBOX_CLIENT_ID,
            lifetime_seconds=lifetime_seconds,
        )


class SandboxBearerVerifier:
    """The walking skeleton's /mcp bearer check: a sandbox JWT for the sandbox Dataverse audience."""

    def __init__(self, audience: str):
        self._audience = audience

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = process_signing_key().verify(token, audience=self._audience)
        except jwt.InvalidTokenError:
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("azp", "")),
            scopes=str(claims.get("scp", "")).split(),
            expires_at=int(claims["exp"]),
            subject=str(claims["oid"]),
            claims={key: claims.get(key) for key in ("upn", "name", "tid", "iss")},
        )


def create_sandbox_runtime(
    settings: Settings, *, seed: int = 7, today: date | None = None, latency_ms: float = 0.0
) -> SandboxRuntime:
    """Everything sandbox mode needs, for the given (sandbox-mode) settings."""
    base = settings.public_base_url
    dataverse_url = base + SANDBOX_DATAVERSE_PATH
    organization = create_sandbox_organization(seed=seed, today=today)
    if latency_ms:
        organization.faults.latency_ms = latency_ms
    dataverse_app = create_sandbox_dataverse_app(
        organization=organization, base_url=dataverse_url, verify_token=sandbox_token_verifier(dataverse_url)
    )
    in_process = Starlette(routes=[Mount(SANDBOX_DATAVERSE_PATH, app=dataverse_app)])
    http = create_http_client(transport=httpx.ASGITransport(app=in_process), timeout=settings.dataverse_timeout_seconds)
    sandbox_settings = settings.model_copy(update={"dataverse_urls": [dataverse_url], "mcp_scope": ""})

    async def passthrough_token(access_token: AccessToken, environment_url: str) -> str:
        return access_token.token

    deps = AppDeps(
        http=http,
        token_verifier=SandboxBearerVerifier(dataverse_url),
        dataverse_token=passthrough_token,
        extra_routes=[Mount(SANDBOX_DATAVERSE_PATH, app=dataverse_app)],
    )
    return SandboxRuntime(
        settings=sandbox_settings, deps=deps, organization=organization, dataverse_url=dataverse_url
    )
