"""The one settings model: every value the app reads from its environment, with defaults that make a bare checkout
run in sandbox mode. Nothing else in the package reads `os.environ`."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]

DEFAULT_REDIRECT_URIS = [
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://chatgpt.com/connector/oauth/*",
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
    "https://vscode.dev/redirect",
    "https://insiders.vscode.dev/redirect",
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "https://www.cursor.com/agents/mcp/oauth/callback",
    "https://cursor.com/agents/mcp/oauth/callback",
    "http://127.0.0.1:*/**",
    "http://[::1]:*/**",
    "http://localhost:*/**",
]
"""The callbacks of ChatGPT, Claude, VS Code and Cursor, and RFC 8252 loopback callbacks (any port, any path) for
desktop tools (Claude Code, VS Code, Codex, mcp-remote, MCP Inspector)."""

DEFAULT_ACCENT_COLOR = "#2f4f6f"
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class Settings(BaseSettings):
    """Configuration for one deployment (one tenant). Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # --- where the server lives -------------------------------------------------------------------------------------
    public_base_url: str = Field(
        "http://127.0.0.1:7071",
        description="Canonical external URL of this app, no trailing slash. The MCP resource is <this>/mcp.",
    )
    allowed_hosts: CommaList = Field(
        default_factory=list,
        description="Extra Host header values accepted (DNS-rebinding guard). The public URL's host is always allowed.",
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        description="Browser Origins accepted on /mcp besides the public URL's own origin.",
    )

    # --- Dataverse ---------------------------------------------------------------------------------------------------
    dataverse_urls: CommaList = Field(
        default_factory=list,
        description="Dataverse environment URLs, e.g. https://contoso.crm.dynamics.com. Empty means sandbox mode.",
    )
    dataverse_timeout_seconds: float = Field(30.0, description="Per-request timeout for Dataverse calls.")
    dataverse_retry_budget_seconds: float = Field(
        20.0, ge=0, allow_inf_nan=False,
        description="Total time a Dataverse call may spend waiting on 429/5xx retries before giving up; 0 means no "
        "retries. Becomes RetryPolicy(budget_seconds=...).",
    )

    # --- Entra ID (upstream identity provider) ---------------------------------------------------------------------
    entra_tenant_id: str = Field("", description="Directory (tenant) id of the Entra app registration.")
    entra_client_id: str = Field("", description="Application (client) id of the Entra app registration.")
    entra_client_secret: str = Field("", description="Local development only. In Azure the managed identity is used.")
    entra_certificate_path: str = Field("", description="Local development only: PEM with private key and cert.")
    entra_certificate_thumbprint: str = Field("", description="Thumbprint of entra_certificate_path's certificate.")
    managed_identity_client_id: str = Field(
        "", description="Client id of the user-assigned managed identity trusted by the app registration."
    )
    entra_authority_host: str = Field("https://login.microsoftonline.com", description="Entra authority host.")
    mcp_scope: str = Field("MCP.Access", description="The delegated scope exposed by the app registration.")
    sandbox_server_url: str = Field(
        "", description="Local development and tests only: the URL of a sandbox server (`python -m dataverse "
        "sandbox`) standing in for Entra ID. MSAL keeps its https authority; its requests are forwarded here over "
        "loopback HTTP. Never set in Azure.",
    )

    # --- our own OAuth authorization server --------------------------------------------------------------------------
    token_encryption_key: str = Field(
        "", description="Base64 32-byte AES key for upstream tokens at rest. A Key Vault reference in Azure."
    )
    access_token_ttl_seconds: int = Field(
        8 * 3600, ge=60,
        description="Lifetime of the access tokens this server issues (8 hours: see the README's design notes).",
    )
    refresh_token_ttl_seconds: int = Field(90 * 24 * 3600, description="Lifetime of refresh tokens (rotating).")
    share_dataverse_tokens: bool = Field(
        True, description="Keep the Dataverse tokens obtained On-Behalf-Of in Table Storage, encrypted, so that an "
        "instance serving a sign-in another instance already served needs no Entra round trip. False keeps them in "
        "each instance's memory only.",
    )
    client_registration_ttl_seconds: int = Field(90 * 24 * 3600, description="DCR lifetime, renewed on use.")
    allowed_redirect_uris: CommaList = Field(
        default_factory=lambda: list(DEFAULT_REDIRECT_URIS),
        description="Redirect URI patterns clients may register: `*` matches a port or one path segment, `**` any "
        "path. Replaces the default list (to narrow it).",
    )
    extra_redirect_uris: CommaList = Field(
        default_factory=list,
        description="Redirect URI patterns added to allowed_redirect_uris (to extend the list without repeating it).",
    )

    # --- what a person sees: the consent, sign-in and landing pages --------------------------------------------------
    branding_name: str = Field(
        "", max_length=80, description="Organisation name shown on every page; empty shows a neutral product name."
    )
    branding_logo_url: str = Field("", max_length=2048, description="https URL of a logo shown beside the name.")
    branding_accent_color: str = Field(
        DEFAULT_ACCENT_COLOR, description="Accent colour of the pages' header and primary button, as #rrggbb."
    )

    # --- storage -----------------------------------------------------------------------------------------------------
    storage_connection_string: str = Field("", description="Table Storage connection string (local, Azurite).")
    storage_table_endpoint: str = Field(
        "", description="Table endpoint, e.g. https://<account>.table.core.windows.net, used with the managed identity."
    )

    # --- policy ------------------------------------------------------------------------------------------------------
    access_mode: Literal["read_only", "read_write"] = Field("read_write", description="read_only hides write tools.")
    allow_delete: bool = Field(True, description="False removes the delete tools altogether.")
    table_allowlist: CommaList = Field(default_factory=list, description="If set, only these tables are reachable.")
    table_denylist: CommaList = Field(default_factory=list, description="These tables are never reachable.")
    search_tables: CommaList = Field(
        default_factory=lambda: ["account", "contact", "opportunity", "lead"],
        description="Tables searched by `search` when Dataverse search is not available.",
    )
    bulk_confirm_threshold: int = Field(
        10, ge=0, le=1000,
        description="Bulk changes of more rows than this are proposed first and need a confirmation.")
    action_allowlist: CommaList = Field(
        default_factory=list, description="Dataverse actions and functions invoke_action may run; empty: none.")
    model_driven_app_id: str = Field(
        "", description="The model-driven app (appmodule id) record links open in; empty: the user's default app.")
    confirm_token_ttl_seconds: int = Field(120, description="Lifetime of a delete confirmation token.")

    # --- operations --------------------------------------------------------------------------------------------------
    applicationinsights_connection_string: str = Field("", description="Enables OpenTelemetry export when set.")
    log_level: str = Field("INFO", description="Log level for the app's own loggers.")

    @field_validator(
        "allowed_hosts",
        "allowed_origins",
        "dataverse_urls",
        "allowed_redirect_uris",
        "extra_redirect_uris",
        "table_allowlist",
        "table_denylist",
        "search_tables",
        "action_allowlist",
        mode="before",
    )
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("public_base_url", "sandbox_server_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("branding_name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        value = value.strip()
        if any(not character.isprintable() for character in value):
            raise ValueError("branding_name must be printable text on one line")
        return value

    @field_validator("branding_logo_url")
    @classmethod
    def _https_logo(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password or "'" in value:
            raise ValueError("branding_logo_url must be an https URL without credentials, e.g. https://contoso.com/logo.png")
        return value

    @field_validator("branding_accent_color")
    @classmethod
    def _hex_color(cls, value: str) -> str:
        if not _HEX_COLOR.match(value.strip()):
            raise ValueError("branding_accent_color must be a colour as #rrggbb, e.g. #0f6cbd")
        return value.strip().lower()

    @field_validator("dataverse_urls")
    @classmethod
    def _normalise_environment_urls(cls, value: list[str]) -> list[str]:
        return [url.rstrip("/") for url in value]

    @property
    def sandbox_mode(self) -> bool:
        """No Dataverse configured: serve the built-in sandbox Dataverse and sign-in from this process."""
        return not self.dataverse_urls

    @property
    def redirect_uri_patterns(self) -> list[str]:
        """Every redirect URI pattern a client may register: the (possibly narrowed) list plus the extra ones."""
        return list(dict.fromkeys([*self.allowed_redirect_uris, *self.extra_redirect_uris]))

    @property
    def mcp_url(self) -> str:
        """The canonical resource URI (RFC 8707) that every token this server issues is bound to."""
        return f"{self.public_base_url}/mcp"
