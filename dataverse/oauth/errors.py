"""The exceptions of the authorization server proxy, drawn once. The app maps them to HTTP statuses:

    OAuthError
    ├── ConfigurationError              settings unusable (e.g. no encryption key outside sandbox mode)  -> 500
    ├── ClientMetadataError             a Client ID Metadata Document could not be used      -> client not found
    │   └── UnsafeClientMetadataUrlError  the URL is not https or points at a private/loopback/... address
    ├── CookieError                     a signed cookie/CSRF token is missing, forged or expired          -> 403/400
    └── DataverseTokenError             no Dataverse token could be obtained On-Behalf-Of the user
        ├── GrantExpiredError           the grant is gone or Entra wants a fresh sign-in                  -> 401
        ├── AdminConsentRequiredError   AADSTS65001: an admin must consent to Dataverse access            -> 403
        └── UpstreamUnavailableError    Entra ID is unreachable or failing; nothing was lost              -> 503
"""

from __future__ import annotations


class OAuthError(Exception):
    """Base of every error raised by dataverse.oauth."""


class ConfigurationError(OAuthError):
    """The settings cannot run the authorization server (a missing or malformed key, for instance)."""


class ClientMetadataError(OAuthError):
    """A Client ID Metadata Document could not be fetched or is not acceptable."""


class UnsafeClientMetadataUrlError(ClientMetadataError):
    """The client_id URL is not https, or its host resolves to an address we never fetch from (SSRF guard)."""


class CookieError(OAuthError):
    """A signed value (consent cookie, CSRF token) is missing, tampered with, expired or bound to something else."""


class DataverseTokenError(OAuthError):
    """No Dataverse token could be obtained for the user."""


class GrantExpiredError(DataverseTokenError):
    """The user's grant was revoked or expired, or Entra requires interaction: the connector must sign in again."""


class AdminConsentRequiredError(DataverseTokenError):
    """Entra answered AADSTS65001: the app registration lacks admin consent for Dataverse user_impersonation."""

    def __init__(self, environment_url: str) -> None:
        self.environment_url = environment_url
        super().__init__(
            "Access to Dataverse has not been approved for this organization (AADSTS65001). An Entra ID administrator "
            "must grant admin consent to the app registration for the Dynamics CRM 'user_impersonation' permission "
            f"(Entra admin center > App registrations > API permissions > Grant admin consent) for {environment_url}."
        )


class UpstreamUnavailableError(DataverseTokenError):
    """Entra ID could not be reached or failed transiently; retry later. The user's grant is untouched."""
