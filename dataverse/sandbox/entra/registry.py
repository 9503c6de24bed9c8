"""The sandbox Entra ID's directory state: the registered confidential app(s), the toggles fault tests flip (outage,
admin consent, tampered id_tokens), per-endpoint request counters, and the codes and refresh tokens it has issued.

Everything lives in process memory: the sandbox stands in for login.microsoftonline.com in one process (the demo, the
tests) and is never wired in Azure. The client secret below is a sandbox-only constant, worthless anywhere else.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from dataverse.sandbox.users import SandboxUser

SANDBOX_CLIENT_ID = "8c3d5b2e-0000-4000-8000-00000000e001"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret-not-for-production"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
AUTHORIZATION_CODE_TTL_SECONDS = 600
ACCESS_TOKEN_TTL_SECONDS = 3600
REFRESH_TOKEN_TTL_SECONDS = 90 * 24 * 3600

OutageMode = Literal["none", "unavailable"]


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential on the app: which external token may stand in for the client secret
    (in Azure: the user-assigned managed identity's token for api://AzureADTokenExchange)."""

    issuer: str
    subject: str
    audience: str = TOKEN_EXCHANGE_AUDIENCE


@dataclass
class SandboxApp:
    """One app registration: a confidential web app exposing `api://<client_id>/MCP.Access`."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_secret: str | None = SANDBOX_CLIENT_SECRET
    federated_credential: FederatedCredential | None = None
    certificate_thumbprints: dict[str, Any] = field(default_factory=dict)  # x5t or x5t#S256, unpadded -> RSA public key
    scope_name: str = "MCP.Access"
    display_name: str = "Dataverse MCP (sandbox)"  # what the sign-in page names, as Entra shows the app's name
    admin_consent_granted: bool = True  # delegated Dataverse user_impersonation consented for the tenant

    def add_certificate(self, certificate: Any) -> None:
        """Register a public certificate (cryptography x509.Certificate) as a client credential, by its SHA-1 and
        SHA-256 thumbprints (base64url, unpadded), as they appear in an assertion's x5t / x5t#S256 header."""
        from cryptography.hazmat.primitives import hashes

        for algorithm in (hashes.SHA1(), hashes.SHA256()):
            thumbprint = base64.urlsafe_b64encode(certificate.fingerprint(algorithm)).rstrip(b"=").decode()
            self.certificate_thumbprints[thumbprint] = certificate.public_key()

    @property
    def application_id_uri(self) -> str:
        return f"api://{self.client_id}"

    @property
    def api_scope(self) -> str:
        return f"{self.application_id_uri}/{self.scope_name}"


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    user: SandboxUser
    scopes: tuple[str, ...]
    code_challenge: str
    nonce: str | None
    expires_at: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    user: SandboxUser
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class SandboxAppRegistry:
    """The tenant's app registrations plus the sandbox's mutable state and fault toggles (thread-safe)."""

    apps: list[SandboxApp]
    dataverse_resources: tuple[str, ...] = ()  # empty: any http(s) URL is accepted as a Dataverse environment
    outage: OutageMode = "none"  # "unavailable": every request answers 503 with Retry-After
    id_token_claim_overrides: dict[str, Any] = field(default_factory=dict)  # applied to every id_token minted
    request_counts: Counter[str] = field(default_factory=Counter)  # endpoint name -> requests seen
    _codes: dict[str, AuthorizationCode] = field(default_factory=dict, repr=False)
    _refresh_grants: dict[str, RefreshGrant] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create_default(cls, *, redirect_uris: list[str], **options: Any) -> SandboxAppRegistry:
        """One confidential app, SANDBOX_CLIENT_ID with SANDBOX_CLIENT_SECRET, redirecting to `redirect_uris`."""
        return cls(apps=[SandboxApp(client_id=SANDBOX_CLIENT_ID, redirect_uris=tuple(redirect_uris))], **options)

    # --- registrations -------------------------------------------------------------------------------------------
    def get_app(self, client_id: str) -> SandboxApp:
        """The app registered under `client_id`; KeyError if none."""
        for app in self.apps:
            if app.client_id == client_id:
                return app
        raise KeyError(client_id)

    def find_app_by_api_resource(self, resource: str) -> SandboxApp:
        """The app whose Application ID URI (api://<id>) or bare client id is `resource`; KeyError if none."""
        for app in self.apps:
            if resource in (app.application_id_uri, app.client_id):
                return app
        raise KeyError(resource)

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self.request_counts[endpoint] += 1

    # --- authorization codes -------------------------------------------------------------------------------------
    def create_code(self, grant: AuthorizationCode) -> str:
        code = "sbx." + secrets.token_urlsafe(48)
        with self._lock:
            self._codes[code] = grant
        return code

    def redeem_code(self, code: str) -> AuthorizationCode:
        """Mark the code used and return it. KeyError if unknown; ValueError("redeemed"/"expired") otherwise."""
        with self._lock:
            grant = self._codes[code]
            if grant.redeemed:
                raise ValueError("redeemed")
            grant.redeemed = True
        if grant.expires_at < time.time():
            raise ValueError("expired")
        return grant

    # --- refresh tokens ------------------------------------------------------------------------------------------
    def create_refresh_token(self, *, client_id: str, user: SandboxUser, scopes: tuple[str, ...]) -> str:
        token = "sbx.rt." + secrets.token_urlsafe(64)
        with self._lock:
            self._refresh_grants[token] = RefreshGrant(
                client_id=client_id, user=user, scopes=scopes, expires_at=time.time() + REFRESH_TOKEN_TTL_SECONDS
            )
        return token

    def use_refresh_token(self, token: str) -> RefreshGrant:
        """Consume a refresh token (they rotate). KeyError if unknown or revoked; ValueError("used"/"expired")."""
        with self._lock:
            grant = self._refresh_grants[token]
            if grant.used:
                raise ValueError("used")
            grant.used = True
        if grant.expires_at < time.time():
            raise ValueError("expired")
        return grant

    def revoke_refresh_tokens(self, *, username: str) -> int:
        """Revoke every refresh token of a user (as "revoke sessions" in the portal would); returns how many."""
        with self._lock:
            doomed = [token for token, grant in self._refresh_grants.items() if grant.user.username == username]
            for token in doomed:
                del self._refresh_grants[token]
        return len(doomed)

    def expire_refresh_tokens(self) -> None:
        """Make every outstanding refresh token expired (for tests of the interaction-required path)."""
        with self._lock:
            for grant in self._refresh_grants.values():
                grant.expires_at = 0.0
