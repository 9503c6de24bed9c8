"""The upstream Entra ID client (MSAL): the authorize URL we send browsers to, the code exchange with our own PKCE
verifier and nonce (and our own id_token checks, since MSAL checks none), refresh with rotation, and On-Behalf-Of
tokens for Dataverse. Used unchanged against real Entra and the sandbox (which injects `http_client`).

MSAL is synchronous: every network call runs in a worker thread (asyncio.to_thread). `msal` is imported lazily and
the ConfidentialClientApplication is built on first use (its construction fetches the tenant's OpenID
configuration), so a cold start pays for neither until a sign-in or token call needs them. MSAL's token cache is
discarded: correctness never depends on it; our own storage keeps what must survive.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlparse

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
OIDC_SCOPES = ("openid", "profile", "offline_access")
ID_TOKEN_CLOCK_SKEW_SECONDS = 300
TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"
INTERACTION_ERRORS = frozenset({"invalid_grant", "interaction_required", "login_required", "consent_required"})
ADMIN_CONSENT_CODE = 65001


class EntraError(Exception):
    """Entra refused a request. `error` is the OAuth error, `codes` the AADSTS numbers, `description` Entra's text."""

    def __init__(self, error: str, description: str = "", *, codes: list[int] | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.codes = list(codes or [])

    @property
    def admin_consent_required(self) -> bool:
        """AADSTS65001: the tenant's admin has not consented to the Dataverse permission; signing in won't help."""
        return ADMIN_CONSENT_CODE in self.codes

    @property
    def interaction_required(self) -> bool:
        """The upstream grant is expired, revoked or otherwise unusable: the caller answers 401 so the user signs in."""
        return self.error in INTERACTION_ERRORS and not self.admin_consent_required


class EntraUnavailableError(EntraError):
    """Entra could not be reached or answered 5xx. The caller answers 503 and keeps every grant as it was."""

    def __init__(self, description: str) -> None:
        super().__init__("temporarily_unavailable", description)


@dataclass(frozen=True)
class UpstreamTokens:
    access_token: str
    refresh_token: str | None
    expires_at: float  # epoch seconds
    scope: str
    id_token_claims: dict[str, Any]  # empty on refresh/OBO when Entra returned no id_token


class MsalHttpClient(Protocol):
    """The `http_client` MSAL may be given instead of its own requests session (the sandbox injects one that reaches
    its Entra): GET and POST returning requests-like responses, which only MSAL reads."""

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any: ...

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any: ...


class EntraApi(Protocol):
    """The seam between the OAuth proxy and Entra ID: what consent, the callback and On-Behalf-Of ask of it.
    `EntraClient` implements it over MSAL; every call raises EntraError, or EntraUnavailableError when Entra cannot
    be reached."""

    @property
    def authorize_endpoint(self) -> str:
        """Where browsers are sent to sign in (the consent page lets its form lead there)."""
        ...

    def build_authorize_url(
        self, *, redirect_uri: str, state: str, code_challenge: str, nonce: str, login_hint: str | None = None
    ) -> str:
        """Where to send the browser to sign in (PKCE S256, our state and nonce)."""
        ...

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> UpstreamTokens:
        """The user's tokens for an authorization code, its id_token checked."""
        ...

    async def refresh(self, refresh_token: str) -> UpstreamTokens:
        """Renewed tokens (with the rotated refresh token) for a refresh token."""
        ...

    async def acquire_on_behalf_of(self, *, user_assertion: str, scopes: list[str]) -> tuple[str, float]:
        """(access token, expires_at) for `scopes`, acting as the user whose token `user_assertion` is."""
        ...


def client_assertion_from_managed_identity(managed_identity_client_id: str) -> Callable[[], str]:
    """A callable MSAL uses as `{"client_assertion": ...}`: the user-assigned managed identity's token for
    api://AzureADTokenExchange, trusted by the app registration's federated identity credential."""
    credential: TokenCredential | None = None
    lock = threading.Lock()

    def get_assertion() -> str:  # azure.identity is imported when MSAL first needs an assertion, not at start-up
        nonlocal credential
        with lock:
            if credential is None:
                from azure.identity import ManagedIdentityCredential

                credential = ManagedIdentityCredential(client_id=managed_identity_client_id)
        return credential.get_token(TOKEN_EXCHANGE_SCOPE).token

    return get_assertion


def _error_from_result(result: dict[str, Any]) -> EntraError:
    codes = [int(code) for code in result.get("error_codes") or [] if str(code).isdigit()]
    return EntraError(str(result.get("error")), str(result.get("error_description") or ""), codes=codes)


def _translate_failure(error: BaseException) -> EntraError:
    """Map what MSAL and its HTTP client raise to our errors (network and 5xx: unavailable)."""
    from msal.exceptions import MsalServiceError

    if isinstance(error, (OSError, MsalServiceError, json.JSONDecodeError, TimeoutError)):
        return EntraUnavailableError(f"Entra ID is unreachable or failing: {error}")
    return EntraError("invalid_configuration", f"Entra ID client could not be set up: {error}")


class EntraClient:
    """One app registration's view of Entra ID (an `EntraApi`): authorize URL, code exchange, refresh and
    On-Behalf-Of."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        api_scope: str,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        client_credential: str | dict[str, Any] | None,
        http_client: MsalHttpClient | None = None,
        authorize_endpoint: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        """`client_credential` as MSAL takes it: a secret, {"private_key", "thumbprint"} or {"client_assertion":
        callable}. `authorize_endpoint` overrides where browsers are sent (the sandbox serves its own page; see
        dataverse.sandbox.entra.sandbox_entra_client_options); by default <authority_host>/<tenant>/oauth2/v2.0/
        authorize. `tenant_id` must be the directory GUID: id_tokens are checked against it (`tid`, `iss`)."""
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.api_scope = api_scope
        self.authority_host = authority_host.rstrip("/")
        self.authorize_endpoint = authorize_endpoint or f"{self.authority}/oauth2/v2.0/authorize"
        self._client_credential = client_credential
        self._http_client = http_client
        self._timeout_seconds = timeout_seconds
        self._msal_app: Any | None = None
        self._msal_app_lock = threading.Lock()

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        """The tenant's v2 issuer; every id_token we accept carries exactly this `iss`."""
        return f"{self.authority}/v2.0"

    # --- the browser leg -------------------------------------------------------------------------------------------
    def build_authorize_url(
        self, *, redirect_uri: str, state: str, code_challenge: str, nonce: str, login_hint: str | None = None
    ) -> str:
        """The Entra sign-in URL: our API scope plus OIDC scopes, PKCE S256, our state and nonce. Never `resource`."""
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "response_mode": "query",
            "scope": " ".join([self.api_scope, *OIDC_SCOPES]),
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            params["login_hint"] = login_hint
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    # --- token calls ---------------------------------------------------------------------------------------------
    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> UpstreamTokens:
        """Redeem an authorization code; the id_token must be for us, from our tenant, with our nonce."""
        result = await self._call(
            lambda app: app.acquire_token_by_authorization_code(
                code, scopes=[self.api_scope], redirect_uri=redirect_uri, data={"code_verifier": code_verifier}
            )
        )
        claims = result.get("id_token_claims") or {}
        if not claims:
            raise EntraError("invalid_id_token", "Entra returned no id_token for the sign-in.")
        self._check_id_token_claims(claims, nonce=nonce)
        return self._tokens_from(result, claims=claims)

    async def refresh(self, refresh_token: str) -> UpstreamTokens:
        """New tokens for a refresh token (scope sent, as Entra requires); returns the rotated refresh token."""
        result = await self._call(
            lambda app: app.acquire_token_by_refresh_token(refresh_token, scopes=[self.api_scope])
        )
        claims = result.get("id_token_claims") or {}
        if claims:
            self._check_id_token_claims(claims, nonce=None)
        tokens = self._tokens_from(result, claims=claims)
        if tokens.refresh_token is None:  # Entra kept the old one valid
            tokens = UpstreamTokens(tokens.access_token, refresh_token, tokens.expires_at, tokens.scope, claims)
        return tokens

    async def acquire_on_behalf_of(self, *, user_assertion: str, scopes: list[str]) -> tuple[str, float]:
        """A token for `scopes` (e.g. ["https://org.crm.dynamics.com/user_impersonation"]) acting as the user."""
        result = await self._call(lambda app: app.acquire_token_on_behalf_of(user_assertion, scopes=list(scopes)))
        tokens = self._tokens_from(result, claims={})
        return tokens.access_token, tokens.expires_at

    # --- internals -------------------------------------------------------------------------------------------------
    def _check_id_token_claims(self, claims: dict[str, Any], *, nonce: str | None) -> None:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = []
        if claims.get("iss") != self.issuer:
            problems.append(f"issuer {claims.get('iss')!r} is not {self.issuer!r}")
        if str(claims.get("tid", "")).lower() != self.tenant_id.lower():
            problems.append(f"tenant {claims.get('tid')!r} is not {self.tenant_id!r}")
        if self.client_id not in audiences:
            problems.append(f"audience {audience!r} is not this app")
        if nonce is not None and claims.get("nonce") != nonce:
            problems.append("nonce does not match the sign-in request")
        expires = claims.get("exp")
        if not isinstance(expires, (int, float)) or expires + ID_TOKEN_CLOCK_SKEW_SECONDS < time.time():
            problems.append("id_token has expired")
        if problems:
            raise EntraError("invalid_id_token", "Entra id_token rejected: " + "; ".join(problems) + ".")

    @staticmethod
    def _tokens_from(result: dict[str, Any], *, claims: dict[str, Any]) -> UpstreamTokens:
        expires_in = result.get("expires_in", 0)
        return UpstreamTokens(
            access_token=str(result["access_token"]),
            refresh_token=result.get("refresh_token") or None,
            expires_at=time.time() + float(expires_in),
            scope=str(result.get("scope", "")),
            id_token_claims=dict(claims),
        )

    async def _call(self, operation: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            return operation(self._get_msal_app())

        try:
            result = await asyncio.to_thread(run)
        except EntraError:
            raise
        except Exception as error:
            raise _translate_failure(error) from error
        if not isinstance(result, dict) or "error" in result or "access_token" not in result:
            raise _error_from_result(result if isinstance(result, dict) else {"error": "invalid_response"})
        return result

    def _get_msal_app(self) -> Any:
        with self._msal_app_lock:
            if self._msal_app is None:
                self._msal_app = self._create_msal_app()
            return self._msal_app

    def _create_msal_app(self) -> Any:
        import msal
        from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

        class _DiscardingTokenCache(msal.TokenCache):  # type: ignore[misc]  # msal ships no types: TokenCache is Any
            """Keeps nothing: our storage holds what must survive, and memory must not grow per user."""

            def add(self, event: dict[str, Any], now: float | None = None) -> None:
                return None

        known_host = urlparse(self.authority_host).hostname in WELL_KNOWN_AUTHORITY_HOSTS
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self._client_credential,
            authority=self.authority,
            http_client=self._http_client,
            token_cache=_DiscardingTokenCache(),
            timeout=self._timeout_seconds,
            instance_discovery=None if known_host else False,
        )
