"""The one settings model: every value the app reads from its environment, with defaults that make a bare checkout
run in sandbox mode. Nothing else in the package reads `os.environ`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]

DEFAULT_REDIRECT_URIS = [
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://chatgpt.com/connector/oauth/*",
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
    "http://localhost:*/**",
    "http://127.0.0.1:*/**",
]


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

    # --- our own OAuth authorization server --------------------------------------------------------------------------
    token_encryption_key: str = Field(
        "", description="Base64 32-byte AES key for upstream tokens at rest. A Key Vault reference in Azure."
    )
    access_token_ttl_seconds: int = Field(3600, description="Lifetime of the access tokens this server issues.")
    refresh_token_ttl_seconds: int = Field(90 * 24 * 3600, description="Lifetime of refresh tokens (rotating).")
    client_registration_ttl_seconds: int = Field(90 * 24 * 3600, description="DCR lifetime, renewed on use.")
    allowed_redirect_uris: CommaList = Field(
        default_factory=lambda: list(DEFAULT_REDIRECT_URIS),
        description="Redirect URI patterns clients may register: `*` matches a port or one path segment, `**` any "
        "path.",
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
    confirm_token_ttl_seconds: int = Field(120, description="Lifetime of a delete confirmation token.")

    # --- operations --------------------------------------------------------------------------------------------------
    applicationinsights_connection_string: str = Field("", description="Enables OpenTelemetry export when set.")
    log_level: str = Field("INFO", description="Log level for the app's own loggers.")

    @field_validator(
        "allowed_hosts",
        "allowed_origins",
        "dataverse_urls",
        "allowed_redirect_uris",
        "table_allowlist",
        "table_denylist",
        "search_tables",
        mode="before",
    )
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("dataverse_urls")
    @classmethod
    def _normalise_environment_urls(cls, value: list[str]) -> list[str]:
        return [url.rstrip("/") for url in value]

    @property
    def sandbox_mode(self) -> bool:
        """No Dataverse configured: serve the built-in sandbox Dataverse and sign-in from this process."""
        return not self.dataverse_urls

    @property
    def mcp_url(self) -> str:
        """The canonical resource URI (RFC 8707) that every token this server issues is bound to."""
        return f"{self.public_base_url}/mcp"
