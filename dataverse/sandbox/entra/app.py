"""The sandbox Entra ID as a Starlette app: the v2 endpoints of login.microsoftonline.com for one tenant.

Mounted by the main app at SANDBOX_ENTRA_MOUNT_PATH ("/sandbox/entra"), it serves
  GET      /                                   a page saying what the sandbox is and who can sign in
  GET      /{tenant}/v2.0/.well-known/openid-configuration
  GET      /{tenant}/discovery/v2.0/keys
  GET/POST /{tenant}/oauth2/v2.0/authorize     (see authorize.py for the sign-in form's fields)
  POST     /{tenant}/oauth2/v2.0/token
Every request is counted per endpoint in `registry.request_counts`; `registry.outage = "unavailable"` makes every
endpoint answer 503. See context.py for why the issuer is https://login.microsoftonline.com/<tenant>/v2.0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dataverse.sandbox.entra.authorize import handle_authorize
from dataverse.sandbox.entra.context import ENTRA_AUTHORITY_HOST, SandboxEntraContext
from dataverse.sandbox.entra.errors import SandboxEntraError
from dataverse.sandbox.entra.pages import index_page
from dataverse.sandbox.entra.registry import SandboxAppRegistry
from dataverse.sandbox.entra.token import handle_token
from dataverse.sandbox.identity import process_signing_key
from dataverse.sandbox.users import SANDBOX_TENANT_ID

Handler = Callable[[Request, SandboxEntraContext], Awaitable[Response]]


async def handle_openid_configuration(request: Request, context: SandboxEntraContext) -> Response:
    try:
        context.check_tenant(request.path_params["tenant"])
    except SandboxEntraError as error:
        return error.to_response()
    tenant = context.tenant_id
    return JSONResponse({
        "issuer": context.issuer,
        "authorization_endpoint": context.authorization_endpoint,
        "token_endpoint": context.token_endpoint,
        "jwks_uri": f"{ENTRA_AUTHORITY_HOST}/{tenant}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": [
            "authorization_code", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "name", "oid", "tid",
                             "preferred_username", "ver"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    })


async def handle_keys(request: Request, context: SandboxEntraContext) -> Response:
    try:
        context.check_tenant(request.path_params["tenant"])
    except SandboxEntraError as error:
        return error.to_response()
    return JSONResponse(process_signing_key().jwks)


async def handle_index(_: Request, context: SandboxEntraContext) -> Response:
    return index_page(tenant_id=context.tenant_id, authorization_endpoint=context.authorization_endpoint,
                      apps=list(context.registry.apps))


def _outage_response() -> Response:
    error = SandboxEntraError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.",
                              status_code=503)
    response = error.to_response()
    response.headers["Retry-After"] = "1"
    return response


def create_sandbox_entra_app(
    *, public_base_url: str, tenant_id: str = SANDBOX_TENANT_ID, registry: SandboxAppRegistry
) -> Starlette:
    """The sandbox Entra for `tenant_id`, answering as if mounted at `<public_base_url>/sandbox/entra`."""
    context = SandboxEntraContext(registry=registry, tenant_id=tenant_id, public_base_url=public_base_url.rstrip("/"))

    def endpoint(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            registry.count_request(name)
            if registry.outage == "unavailable":
                return _outage_response()
            return await handler(request, context)

        run.__name__ = name
        return run

    routes = [
        Route("/", endpoint("index", handle_index), methods=["GET"]),
        Route("/{tenant}/v2.0/.well-known/openid-configuration",
              endpoint("openid_configuration", handle_openid_configuration), methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", endpoint("keys", handle_keys), methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/authorize", endpoint("authorize", handle_authorize), methods=["GET", "POST"]),
        Route("/{tenant}/oauth2/v2.0/token", endpoint("token", handle_token), methods=["POST"]),
    ]
    return Starlette(routes=routes)
