"""Names the sandbox Entra tests share: where the in-process sandbox answers and the URLs of its endpoints."""

from __future__ import annotations

from dataverse.sandbox.entra import SANDBOX_CLIENT_ID, SANDBOX_ENTRA_MOUNT_PATH
from dataverse.sandbox.users import SANDBOX_TENANT_ID

BASE_URL = "http://testserver"
REDIRECT_URI = f"{BASE_URL}/oauth/callback"
TENANT_PATH = f"{SANDBOX_ENTRA_MOUNT_PATH}/{SANDBOX_TENANT_ID}"
AUTHORIZE_PATH = f"{TENANT_PATH}/oauth2/v2.0/authorize"
TOKEN_PATH = f"{TENANT_PATH}/oauth2/v2.0/token"
ENV_URL = "https://contoso-sandbox.crm.dynamics.com"
API_SCOPE = f"api://{SANDBOX_CLIENT_ID}/MCP.Access"
