"""Assembly: `create_oauth(settings, store=, entra=)` builds the provider, the bearer verifier, the OBO service and
every HTTP route of the authorization server, reusing the python-sdk's `create_auth_routes` and adjusting only what
it lacks: metadata (`none` auth, CIMD, RFC 9207 `iss`), `invalid_target` at /token, root protected-resource
metadata, the consent page and the Entra callback.

Wiring for the app (see OAuthComponents): pass `token_verifier` and `auth_settings` to MCPServer (NOT the provider:
MCPServer would then mount the SDK's unadjusted routes ahead of ours), mount `routes`, and wrap the ASGI app with
`guard(app)` for Host/Origin checks and the `scope=` in the 401 challenge.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx
from mcp.server.auth.handlers.metadata import MetadataHandler, ProtectedResourceMetadataHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import ClientAuthenticator
from mcp.server.auth.routes import (
    build_metadata,
    build_resource_metadata_url,
    cors_middleware,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import AnyHttpUrl
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message

from dataverse.oauth.bearer import CachingTokenVerifier
from dataverse.oauth.callback import CallbackEndpoint
from dataverse.oauth.cimd import ClientMetadataFetcher, Resolver, resolve_host
from dataverse.oauth.consent import BrowserFlow, ConsentEndpoints
from dataverse.oauth.crypto import ValueSigner, derive_key, parse_master_key, upstream_token_cipher
from dataverse.oauth.entra import EntraApi
from dataverse.oauth.guard import McpGuardMiddleware, allowed_hosts_for, allowed_origins_for
from dataverse.oauth.obo import DataverseTokenService
from dataverse.oauth.provider import DataverseOAuthProvider
from dataverse.oauth.redirects import RedirectAllowList
from dataverse.oauth.repository import OAuthRepository
from dataverse.oauth.resources import is_same_resource
from dataverse.oauth.tokens import TokenService, token_request_started_at
from dataverse.settings import Settings
from dataverse.storage.protocol import Store

CALLBACK_PATH = "/oauth/callback"
CONSENT_PATH = "/consent"
AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"]


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
    guard: Callable[[ASGIApp], ASGIApp]


def _authorization_server_metadata(settings: Settings, auth: AuthSettings) -> OAuthMetadata:
    base = build_metadata(
        auth.issuer_url, None, auth.client_registration_options, auth.revocation_options  # type: ignore[arg-type]
    )
    return base.model_copy(
        update={
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": [settings.mcp_scope],
        }
    )


def _token_route(provider: DataverseOAuthProvider, resource: str, *, clock: Callable[[], float]) -> Route:
    handler = TokenHandler(provider, ClientAuthenticator(provider))

    async def token_endpoint(request: Request) -> Response:
        token_request_started_at.set(clock())  # tells a duplicate racing a refresh rotation from a replay
        form = await request.form()
        requested = form.get("resource")
        if isinstance(requested, str) and not is_same_resource(requested, resource):
            return JSONResponse(
                {"error": "invalid_target", "error_description": f"tokens are only issued for {resource}"},
                status_code=400,
                headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        response: Response = await handler.handle(request)  # the SDK's handler is unannotated
        return response

    app: ASGIApp = RequestBodyLimitMiddleware(request_response(token_endpoint), DEFAULT_MAX_REQUEST_BODY_SIZE)
    app = CORSMiddleware(app, allow_origins="*", allow_methods=["POST", "OPTIONS"],
                         allow_headers=[MCP_PROTOCOL_VERSION_HEADER])
    return Route("/token", endpoint=app, methods=["POST", "OPTIONS"])


def _revocation_route(provider: DataverseOAuthProvider) -> Route:
    """The SDK's RevocationHandler, except that a public client may omit `client_secret` (RFC 7009 allows it; the
    SDK's request model requires the field)."""
    handler = RevocationHandler(provider, ClientAuthenticator(provider))

    async def revocation_endpoint(request: Request) -> Response:
        body = await request.body()
        form = parse_qs(body.decode("latin-1"))
        if "client_secret" not in form:
            body = body + (b"&" if body else b"") + b"client_secret="
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await handler.handle(Request(request.scope, receive))

    app: ASGIApp = RequestBodyLimitMiddleware(request_response(revocation_endpoint), DEFAULT_MAX_REQUEST_BODY_SIZE)
    app = CORSMiddleware(app, allow_origins="*", allow_methods=["POST", "OPTIONS"],
                         allow_headers=[MCP_PROTOCOL_VERSION_HEADER])
    return Route("/revoke", endpoint=app, methods=["POST", "OPTIONS"])


def _protected_resource_routes(settings: Settings, auth: AuthSettings) -> list[Route]:
    routes = create_protected_resource_routes(
        resource_url=auth.resource_server_url,  # type: ignore[arg-type]
        authorization_servers=[auth.issuer_url],
        scopes_supported=[settings.mcp_scope],
    )
    root = ProtectedResourceMetadata(
        resource=settings.mcp_url,
        authorization_servers=[settings.public_base_url],
        scopes_supported=[settings.mcp_scope],
    )
    handler = ProtectedResourceMetadataHandler(root)
    routes.append(
        Route("/.well-known/oauth-protected-resource", endpoint=cors_middleware(handler.handle, ["GET", "OPTIONS"]),
              methods=["GET", "OPTIONS"])
    )
    return routes


def create_oauth(
    settings: Settings,
    *,
    store: Store,
    entra: EntraApi,
    cimd_transport: httpx.AsyncBaseTransport | None = None,
    cimd_resolver: Resolver = resolve_host,
    clock: Callable[[], float] = time.time,
) -> OAuthComponents:
    """Build the authorization server proxy for one deployment."""
    master_key = parse_master_key(settings.token_encryption_key, allow_ephemeral=settings.sandbox_mode)
    cipher = upstream_token_cipher(master_key)
    signer = ValueSigner(derive_key(master_key, "browser-cookies"), clock=clock)
    allow_list = RedirectAllowList(settings.allowed_redirect_uris)
    repository = OAuthRepository(store, clock=clock)
    auth_settings = AuthSettings(
        issuer_url=settings.public_base_url,  # a str, so the model keeps it without a trailing slash
        resource_server_url=settings.mcp_url,
        required_scopes=[settings.mcp_scope],
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=[settings.mcp_scope], default_scopes=[settings.mcp_scope]
        ),
        revocation_options=RevocationOptions(enabled=True),
        validate_token_resource=True,
    )
    metadata = _authorization_server_metadata(settings, auth_settings)
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
    dataverse_tokens = DataverseTokenService(repository=repository, entra=entra, cipher=cipher, clock=clock)
    tokens.add_revocation_listener(dataverse_tokens.forget_grant)
    flow = BrowserFlow(
        repository=repository,
        provider=provider,
        entra=entra,
        signer=signer,
        cipher=cipher,
        issuer=issuer,
        callback_url=f"{settings.public_base_url}{CALLBACK_PATH}",
        environment_label=", ".join(settings.dataverse_urls) or "sandbox",
        refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds,
        entra_authority_host=settings.entra_authority_host,
        clock=clock,
    )
    consent = ConsentEndpoints(flow)
    callback = CallbackEndpoint(flow)

    adjusted = {
        "/.well-known/oauth-authorization-server": Route(
            "/.well-known/oauth-authorization-server",
            endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        "/token": _token_route(provider, settings.mcp_url, clock=clock),
        "/revoke": _revocation_route(provider),
    }
    routes = [
        adjusted.get(route.path, route)
        for route in create_auth_routes(
            provider,
            issuer_url=auth_settings.issuer_url,
            client_registration_options=auth_settings.client_registration_options,
            revocation_options=auth_settings.revocation_options,
        )
    ]
    routes.extend(_protected_resource_routes(settings, auth_settings))
    routes.append(Route(CONSENT_PATH, endpoint=consent.handle, methods=["GET", "POST"]))
    routes.append(Route(CALLBACK_PATH, endpoint=callback.handle, methods=["GET"]))

    resource_metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.mcp_url)))

    def guard(app: ASGIApp) -> ASGIApp:
        return McpGuardMiddleware(
            app,
            mcp_path="/mcp",
            allowed_hosts=allowed_hosts_for(settings.public_base_url, settings.allowed_hosts),
            allowed_origins=allowed_origins_for(settings.public_base_url, settings.allowed_origins),
            scope=settings.mcp_scope,
            resource_metadata_url=resource_metadata_url,
        )

    return OAuthComponents(
        provider=provider,
        token_verifier=verifier,
        routes=routes,
        auth_settings=auth_settings,
        dataverse_tokens=dataverse_tokens,
        revoke_grant=tokens.revoke_grant,
        metadata=metadata,
        guard=guard,
    )
