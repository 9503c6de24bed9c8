"""The sandbox Entra ID: a faithful local stand-in for login.microsoftonline.com's v2 endpoints (one tenant, the
sandbox users, one confidential app), plus the MSAL http_client that reaches it. Never wired in Azure.

Names are loaded on first use, so that an app instance using a sandbox server (dataverse.sandbox.serve.instance)
imports only the http_client and the constants it needs, not the sandbox's endpoints and signing machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dataverse.sandbox.entra.context import ENTRA_AUTHORITY_HOST, SANDBOX_ENTRA_MOUNT_PATH
from dataverse.sandbox.entra.registry import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from dataverse.sandbox.users import SANDBOX_TENANT_ID

if TYPE_CHECKING:
    from dataverse.sandbox.entra.app import create_sandbox_entra_app
    from dataverse.sandbox.entra.http_client import SandboxEntraHttpClient, sandbox_http_client
    from dataverse.sandbox.entra.minting import mint_managed_identity_assertion
    from dataverse.sandbox.entra.registry import FederatedCredential, SandboxApp, SandboxAppRegistry

__all__ = [
    "ENTRA_AUTHORITY_HOST",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_ENTRA_MOUNT_PATH",
    "FederatedCredential",
    "SandboxApp",
    "SandboxAppRegistry",
    "SandboxEntraHttpClient",
    "create_sandbox_entra_app",
    "mint_managed_identity_assertion",
    "sandbox_entra_client_options",
    "sandbox_http_client",
]

_LAZY = {
    "create_sandbox_entra_app": "dataverse.sandbox.entra.app",
    "SandboxEntraHttpClient": "dataverse.sandbox.entra.http_client",
    "sandbox_http_client": "dataverse.sandbox.entra.http_client",
    "mint_managed_identity_assertion": "dataverse.sandbox.entra.minting",
    "FederatedCredential": "dataverse.sandbox.entra.registry",
    "SandboxApp": "dataverse.sandbox.entra.registry",
    "SandboxAppRegistry": "dataverse.sandbox.entra.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sandbox_entra_client_options(*, base_url: str, tenant_id: str = SANDBOX_TENANT_ID,
                                 client_id: str = SANDBOX_CLIENT_ID) -> dict[str, Any]:
    """Keyword arguments for dataverse.oauth.entra.EntraClient that point it at the sandbox Entra served by the app
    at `base_url`: `EntraClient(**sandbox_entra_client_options(base_url=settings.public_base_url))`."""
    from dataverse.sandbox.entra.http_client import sandbox_http_client

    base_url = base_url.rstrip("/")
    return {
        "tenant_id": tenant_id,
        "client_id": client_id,
        "api_scope": f"api://{client_id}/MCP.Access",
        "client_credential": SANDBOX_CLIENT_SECRET,
        "http_client": sandbox_http_client(base_url=base_url),
        "authorize_endpoint": f"{base_url}{SANDBOX_ENTRA_MOUNT_PATH}/{tenant_id}/oauth2/v2.0/authorize",
    }
