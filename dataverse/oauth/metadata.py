"""Discovery documents: the authorization server metadata (RFC 8414) and the protected resource metadata (RFC 9728).

The python-sdk builds both; this module adjusts what it lacks: `none` among the client authentication methods,
Client ID Metadata Documents advertised (and listed first after the endpoints, since the 2025-11-25 spec prefers
them to dynamic registration; Claude uses CIMD only when both are present), RFC 9207 `iss`, S256 only, our scopes
(the MCP scope and offline_access), and the protected resource metadata at the root as well as under /mcp.
"""

from __future__ import annotations

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.routes import build_metadata, cors_middleware, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dataverse.oauth.scopes import ScopePolicy
from dataverse.settings import Settings

AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"]
LEADING_MEMBERS = (
    "issuer", "authorization_endpoint", "token_endpoint", "client_id_metadata_document_supported",
    "registration_endpoint",
)
CACHE_ONE_HOUR = {"Cache-Control": "public, max-age=3600"}


def authorization_server_metadata(auth: AuthSettings, scopes: ScopePolicy) -> OAuthMetadata:
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
            "scopes_supported": scopes.supported,
        }
    )


def metadata_route(metadata: OAuthMetadata) -> Route:
    """GET /.well-known/oauth-authorization-server, members in LEADING_MEMBERS order first."""
    document = metadata.model_dump(mode="json", exclude_none=True)
    ordered = {name: document[name] for name in LEADING_MEMBERS if name in document} | document

    async def handle(_: Request) -> Response:
        return JSONResponse(ordered, headers=CACHE_ONE_HOUR)

    path = "/.well-known/oauth-authorization-server"
    return Route(path, endpoint=cors_middleware(handle, ["GET", "OPTIONS"]), methods=["GET", "OPTIONS"])


def protected_resource_routes(settings: Settings, auth: AuthSettings) -> list[Route]:
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
