"""An app instance that uses a sandbox server (server.py) as its Dataverse and Entra ID, over loopback.

Nothing of the sandbox runs in the instance: it is the app Azure runs (`create_app_from_environment`), with its
settings from the environment and one injected part, the MSAL `http_client` that carries requests for the real
https authority (login.microsoftonline.com) to SANDBOX_SERVER_URL over plain HTTP. Browsers are sent to the sandbox
server's sign-in page. DATAVERSE_URLS, the app registration (ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET),
TOKEN_ENCRYPTION_KEY and STORAGE_CONNECTION_STRING are read as in production; the first three default to the sandbox's
own values when unset. Served by `python -m dataverse serve`, or by uvicorn directly (several workers too):

    uvicorn dataverse.sandbox.serve.instance:create_app --factory --workers 2 --port 7071
"""

from __future__ import annotations

import gc

from starlette.types import ASGIApp

from dataverse.app import AppDeps, create_app_from_environment, entra_client_from_settings
from dataverse.oauth.entra import EntraClient
from dataverse.sandbox.entra.context import SANDBOX_ENTRA_MOUNT_PATH
from dataverse.sandbox.entra.http_client import SandboxEntraHttpClient
from dataverse.sandbox.entra.registry import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from dataverse.sandbox.serve import SANDBOX_DATAVERSE_PATH
from dataverse.sandbox.users import SANDBOX_TENANT_ID
from dataverse.settings import Settings


def settings_for_sandbox_server(settings: Settings) -> Settings:
    """`settings` with the sandbox's Dataverse URL and app registration filled in where they are unset."""
    if not settings.sandbox_server_url:
        raise ValueError("SANDBOX_SERVER_URL is not set: start `python -m dataverse sandbox` and set it to its URL")
    defaults: dict[str, object] = {}
    if not settings.dataverse_urls:
        defaults["dataverse_urls"] = [settings.sandbox_server_url + SANDBOX_DATAVERSE_PATH]
    if not settings.entra_tenant_id:
        defaults["entra_tenant_id"] = SANDBOX_TENANT_ID
    if not settings.entra_client_id:
        defaults["entra_client_id"] = SANDBOX_CLIENT_ID
    if not (settings.entra_client_secret or settings.entra_certificate_path or settings.managed_identity_client_id):
        defaults["entra_client_secret"] = SANDBOX_CLIENT_SECRET
    return settings.model_copy(update=defaults) if defaults else settings


def entra_client_for_sandbox_server(settings: Settings) -> EntraClient:
    """The production Entra client (MSAL, the app registration's credential), its HTTP carried to the sandbox."""
    sandbox = settings.sandbox_server_url
    return entra_client_from_settings(
        settings,
        http_client=SandboxEntraHttpClient(base_url=sandbox),
        authorize_endpoint=f"{sandbox}{SANDBOX_ENTRA_MOUNT_PATH}/{settings.entra_tenant_id}/oauth2/v2.0/authorize",
    )


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The app for one instance, from the environment (uvicorn's `--factory` calls this with no argument). Built as
    function_app builds it in Azure: the collector paused, then everything built frozen out of future collections."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        settings = settings_for_sandbox_server(settings or Settings())
        return create_app_from_environment(settings, deps=AppDeps(entra=entra_client_for_sandbox_server(settings)))
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
