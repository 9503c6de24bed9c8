"""POST /token and POST /revoke: the python-sdk's TokenHandler and RevocationHandler, behind the checks they lack.

Before the SDK's token handler sees a request, this module answers what RFC 6749 and RFC 7636 say and the SDK does
not: a missing `grant_type` is invalid_request and an unknown one (password, client_credentials, ...) is
unsupported_grant_type (the SDK said invalid_request); a `resource` naming another server is invalid_target (RFC 8707);
a PKCE `code_verifier` that is not 43-128 characters of [A-Za-z0-9-._~] is invalid_request (RFC 7636 4.1: a
one-character verifier was accepted). Unknown scopes in a refresh request are dropped before the SDK compares them
with the granted ones (scopes.py). An unknown or expired client id stays the SDK's 401 invalid_client, which makes
Claude register again.

The revocation handler is the SDK's, except that a public client may omit `client_secret` (RFC 7009 allows it; the
SDK's request model requires the field).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import ClientAuthenticator
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataverse.oauth.provider import DataverseOAuthProvider
from dataverse.oauth.resources import is_same_resource
from dataverse.oauth.scopes import ScopePolicy
from dataverse.oauth.tokens import token_request_started_at

SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token")
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
MAX_TOKEN_BODY_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400, headers=NO_STORE)


def _with_body(request: Request, body: bytes) -> Request:
    """The same request with `body` as its (already read) body, for a handler that reads it again."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def _form_body(items: Iterable[tuple[str, str]]) -> bytes:
    return urlencode(list(items)).encode()


def _cors(app: ASGIApp) -> ASGIApp:
    return CORSMiddleware(app, allow_origins="*", allow_methods=["POST", "OPTIONS"],
                          allow_headers=[MCP_PROTOCOL_VERSION_HEADER])


def stamp_token_requests(app: ASGIApp, *, clock: Callable[[], float]) -> ASGIApp:
    """Record when each /token request arrived (token_request_started_at), before anything else delays it: that
    instant tells a duplicate racing a refresh rotation from a replay (tokens.py). The outermost layer of the app."""

    async def stamped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/token":
            token_request_started_at.set(clock())
        await app(scope, receive, send)

    return stamped


def token_route(provider: DataverseOAuthProvider, scopes: ScopePolicy, resource: str) -> Route:
    handler = TokenHandler(provider, ClientAuthenticator(provider))

    async def token_endpoint(request: Request) -> Response:
        form = await request.form()
        items = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        fields = dict(items)
        grant_type = fields.get("grant_type")
        if not grant_type:
            return _token_error("invalid_request", "grant_type is required")
        if grant_type not in SUPPORTED_GRANT_TYPES:
            return _token_error("unsupported_grant_type",
                                f"grant_type must be one of {', '.join(SUPPORTED_GRANT_TYPES)}")
        if "resource" in fields and not is_same_resource(fields["resource"], resource):
            return _token_error("invalid_target", f"tokens are only issued for {resource}")
        if grant_type == "authorization_code" and not PKCE_VERIFIER.match(fields.get("code_verifier", "")):
            return _token_error("invalid_request",
                                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)")
        if grant_type == "refresh_token" and "scope" in fields:
            narrowed = scopes.narrow(fields["scope"])
            items = [(name, value) for name, value in items if name != "scope"]
            items += [("scope", narrowed)] if narrowed else []
        response: Response = await handler.handle(_with_body(request, _form_body(items)))  # the SDK's is unannotated
        return response

    return Route("/token", endpoint=_cors(request_response(token_endpoint)), methods=["POST", "OPTIONS"])


def revocation_route(provider: DataverseOAuthProvider) -> Route:
    handler = RevocationHandler(provider, ClientAuthenticator(provider))

    async def revocation_endpoint(request: Request) -> Response:
        form = await request.form()
        items = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        if not any(name == "client_secret" for name, _ in items):
            items.append(("client_secret", ""))
        return await handler.handle(_with_body(request, _form_body(items)))

    return Route("/revoke", endpoint=_cors(request_response(revocation_endpoint)), methods=["POST", "OPTIONS"])
