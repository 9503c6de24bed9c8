"""What every sandbox Entra handler needs to know: the registry, the tenant, and the URLs it answers as.

Issuer choice: the sandbox signs tokens as `https://login.microsoftonline.com/<tenant>/v2.0`, exactly as real Entra.
MSAL only accepts https authorities, so the app's MSAL client keeps its real authority
(https://login.microsoftonline.com/<tenant>) and is given an `http_client` (sandbox_http_client) that carries those
requests to this sandbox over plain HTTP. The OpenID configuration therefore names login.microsoftonline.com for the
issuer, token and keys endpoints (only ever reached through that client), and the sandbox's own public URL for the
authorization endpoint, the one place a browser goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request

from dataverse.sandbox.entra.errors import SandboxEntraError
from dataverse.sandbox.entra.registry import SandboxAppRegistry

ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"
SANDBOX_ENTRA_MOUNT_PATH = "/sandbox/entra"


@dataclass(frozen=True)
class SandboxEntraContext:
    registry: SandboxAppRegistry
    tenant_id: str
    public_base_url: str  # where the main app is served; the sandbox lives under SANDBOX_ENTRA_MOUNT_PATH

    @property
    def issuer(self) -> str:
        return f"{ENTRA_AUTHORITY_HOST}/{self.tenant_id}/v2.0"

    @property
    def token_endpoint(self) -> str:
        return f"{ENTRA_AUTHORITY_HOST}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.public_base_url}{SANDBOX_ENTRA_MOUNT_PATH}/{self.tenant_id}/oauth2/v2.0/authorize"

    def check_tenant(self, tenant: str) -> None:
        if tenant.lower() != self.tenant_id.lower():
            raise SandboxEntraError(
                "invalid_tenant", 90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
                "the correct cloud.",
            )


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict (last value wins, as Entra does not repeat fields)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))
