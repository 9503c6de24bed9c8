"""Assembly: `create_oauth(settings, store=, entra=)` builds the provider, the bearer verifier, the OBO service and
every HTTP route of the authorization server:

    /.well-known/oauth-authorization-server, /.well-known/oauth-protected-resource[/mcp]   metadata.py
    /authorize                authorize.py (our handler: pages for people, JSON for clients, iss, lenient scopes)
    /register                 registration.py (our handler: field caps, lenient scopes)
    /token, /revoke           token_endpoint.py (the SDK's handlers behind RFC checks they lack)
    /consent, /oauth/callback consent.py, callback.py (the browser leg through Entra ID)

Wiring for the app (see OAuthComponents): pass `token_verifier` and `auth_settings` to MCPServer (NOT the provider:
MCPServer would then mount the SDK's routes ahead of ours), mount `routes`, and wrap the ASGI app with `guard(app)`:
Host/Origin checks and the `scope=` of the 401 challenge on /mcp (guard.py), a body limit on every POST route
(body_limits.py) and the rate limits of /register, /authorize and /token (rate_limits.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthMetadata
from pydantic import AnyHttpUrl
from starlette.routing import Route
from starlette.types import ASGIApp

from dataverse.oauth.authorize import MAX_AUTHORIZE_BODY_BYTES, AuthorizeEndpoint
from dataverse.oauth.bearer import CachingTokenVerifier
from dataverse.oauth.body_limits import BodyLimitMiddleware
from dataverse.oauth.callback import CallbackEndpoint
from dataverse.oauth.cimd import ClientMetadataFetcher, Resolver, resolve_host
from dataverse.oauth.consent import BrowserFlow, ConsentEndpoints
from dataverse.oauth.consent_page import Abilities
from dataverse.oauth.crypto import TokenCipher, ValueSigner, derive_key, parse_master_key, upstream_token_cipher
from dataverse.oauth.entra import EntraApi
from dataverse.oauth.guard import McpGuardMiddleware, allowed_hosts_for, allowed_origins_for
from dataverse.oauth.metadata import authorization_server_metadata, metadata_route, protected_resource_routes
from dataverse.oauth.obo import DataverseTokenService
from dataverse.oauth.page_shell import Branding
from dataverse.oauth.provider import DataverseOAuthProvider
from dataverse.oauth.rate_limits import DEFAULT_LIMITS, RateLimit, RateLimitMiddleware, WindowCounter
from dataverse.oauth.redirects import RedirectAllowList
from dataverse.oauth.registration import MAX_REGISTRATION_BYTES, RegistrationEndpoint
from dataverse.oauth.repository import OAuthRepository
from dataverse.oauth.scopes import ScopePolicy
from dataverse.oauth.shared_tokens import SharedDataverseTokens
from dataverse.oauth.token_endpoint import MAX_TOKEN_BODY_BYTES, revocation_route, stamp_token_requests, token_route
from dataverse.oauth.tokens import TokenService
from dataverse.settings import Settings
from dataverse.storage.protocol import Store

CALLBACK_PATH = "/oauth/callback"
CONSENT_PATH = "/consent"
MAX_FORM_BODY_BYTES = 16 * 1024

POST_BODY_LIMITS: dict[str, int | None] = {
    "/register": MAX_REGISTRATION_BYTES,
    "/token": MAX_TOKEN_BODY_BYTES,
    "/revoke": MAX_FORM_BODY_BYTES,
    "/authorize": MAX_AUTHORIZE_BODY_BYTES,
    CONSENT_PATH: MAX_FORM_BODY_BYTES,
    "/mcp": None,  # its own limit: jsonrpc_guard and the SDK (1 MB)
}
"""Largest request body per POST route; any other POST path gets body_limits.DEFAULT_MAX_BODY_BYTES."""


@dataclass
class OAuthComponents:
    """Everything the app needs from dataverse.oauth."""

    provider: DataverseOAuthProvider
    token_verifier: CachingTokenVerifier
    routes: list[Route]
    auth_settings: AuthSettings
    dataverse_tokens: DataverseTokenService
    revoke_grant: Callable[[str], Awaitable[None]]
    metadata: OAuthMetadata
    branding: Branding
    guard: Callable[[ASGIApp], ASGIApp]


def _auth_settings(settings: Settings) -> AuthSettings:
    return AuthSettings(
        issuer_url=settings.public_base_url,  # a str, so the model keeps it without a trailing slash
        resource_server_url=settings.mcp_url,
        required_scopes=[settings.mcp_scope],
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=[settings.mcp_scope], default_scopes=[settings.mcp_scope]
        ),
        revocation_options=RevocationOptions(enabled=True),
        validate_token_resource=True,
    )


def create_oauth(
    settings: Settings,
    *,
    store: Store,
    entra: EntraApi,
    cimd_transport: httpx.AsyncBaseTransport | None = None,
    cimd_resolver: Resolver = resolve_host,
    clock: Callable[[], float] = time.time,
    sandbox: bool = False,
    rate_limits: Mapping[str, RateLimit] = DEFAULT_LIMITS,
) -> OAuthComponents:
    """Build the authorization server proxy for one deployment (`sandbox`: show the sandbox banner on its pages)."""
    master_key = parse_master_key(settings.token_encryption_key, allow_ephemeral=settings.sandbox_mode)
    cipher = upstream_token_cipher(master_key)
    signer = ValueSigner(derive_key(master_key, "browser-cookies"), clock=clock)
    allow_list = RedirectAllowList(settings.redirect_uri_patterns)
    repository = OAuthRepository(store, clock=clock)
    scopes = ScopePolicy(settings.mcp_scope)
    branding = Branding.from_settings(settings, sandbox=sandbox)
    auth_settings = _auth_settings(settings)
    metadata = authorization_server_metadata(auth_settings, scopes)
    issuer = str(metadata.issuer)
    tokens = TokenService(
        repository,
        issuer=issuer,
        access_token_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds,
        clock=clock,
    )
    provider = DataverseOAuthProvider(
        repository=repository,
        tokens=tokens,
        client_metadata=ClientMetadataFetcher(
            allow_list=allow_list, default_scope=settings.mcp_scope, transport=cimd_transport,
            resolver=cimd_resolver, clock=clock,
        ),
        allow_list=allow_list,
        secret_cipher=cipher,
        public_base_url=settings.public_base_url,
        resource=settings.mcp_url,
        default_scopes=[settings.mcp_scope],
        client_registration_ttl_seconds=settings.client_registration_ttl_seconds,
        clock=clock,
    )
    verifier = CachingTokenVerifier(tokens, resource=settings.mcp_url, clock=clock)
    shared_tokens = SharedDataverseTokens(
        repository.dataverse_tokens, TokenCipher(derive_key(master_key, "dataverse-tokens")), clock=clock
    ) if settings.share_dataverse_tokens else None
    dataverse_tokens = DataverseTokenService(repository=repository, entra=entra, cipher=cipher, clock=clock,
                                             shared=shared_tokens)
    tokens.add_revocation_listener(dataverse_tokens.forget_grant)
    flow = BrowserFlow(
        repository=repository,
        provider=provider,
        entra=entra,
        signer=signer,
        cipher=cipher,
        issuer=issuer,
        callback_url=f"{settings.public_base_url}{CALLBACK_PATH}",
        environments=list(settings.dataverse_urls),
        abilities=Abilities(write=settings.access_mode == "read_write",
                            delete=settings.access_mode == "read_write" and settings.allow_delete),
        branding=branding,
        refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds,
        entra_sign_in_url=entra.authorize_endpoint if entra is not None else settings.entra_authority_host,
        clock=clock,
    )
    registration_endpoint = f"{settings.public_base_url}/register"
    authorize = AuthorizeEndpoint(provider, scopes, issuer=issuer, registration_endpoint=registration_endpoint,
                                  branding=branding)
    registration = RegistrationEndpoint(provider, scopes, clock=clock)
    routes = [
        metadata_route(metadata),
        Route("/authorize", endpoint=authorize.handle, methods=["GET", "POST"]),
        token_route(provider, scopes, settings.mcp_url),
        Route("/register", endpoint=cors_middleware(registration.handle, ["POST", "OPTIONS"]),
              methods=["POST", "OPTIONS"]),
        revocation_route(provider),
        *protected_resource_routes(settings, auth_settings),
        Route(CONSENT_PATH, endpoint=ConsentEndpoints(flow).handle, methods=["GET", "POST"]),
        Route(CALLBACK_PATH, endpoint=CallbackEndpoint(flow).handle, methods=["GET"]),
    ]
    resource_metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.mcp_url)))
    counter = WindowCounter(repository, clock=clock)

    def guard(app: ASGIApp) -> ASGIApp:
        limited = RateLimitMiddleware(app, counter=counter, limits=rate_limits, branding=branding)
        guarded = McpGuardMiddleware(
            BodyLimitMiddleware(limited, limits=POST_BODY_LIMITS),
            mcp_path="/mcp",
            allowed_hosts=allowed_hosts_for(settings.public_base_url, settings.allowed_hosts),
            allowed_origins=allowed_origins_for(settings.public_base_url, settings.allowed_origins),
            scope=settings.mcp_scope,
            resource_metadata_url=resource_metadata_url,
        )
        return stamp_token_requests(guarded, clock=clock)

    return OAuthComponents(
        provider=provider,
        token_verifier=verifier,
        routes=routes,
        auth_settings=auth_settings,
        dataverse_tokens=dataverse_tokens,
        revoke_grant=tokens.revoke_grant,
        metadata=metadata,
        branding=branding,
        guard=guard,
    )
