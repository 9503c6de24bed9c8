"""The sandbox `/{tenant}/oauth2/v2.0/authorize` endpoint: Entra's checks, then a one-page sign-in form.

Errors found before the redirect URI is trusted (tenant, client_id, redirect_uri) render an error page; later ones
redirect back with `error`, `error_description` and `state`, as Entra does.

Driving it from a test: GET the authorize URL, then POST to the very same URL (query string included) an
application/x-www-form-urlencoded body with the fields `username` (alice, bob, carol, or their UPN) and `password`
("sandbox"). Success answers 302 to `redirect_uri?code=...&state=...&session_state=...`.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dataverse.sandbox.entra.context import SandboxEntraContext, read_form
from dataverse.sandbox.entra.errors import SandboxEntraError
from dataverse.sandbox.entra.pages import error_page, sign_in_page
from dataverse.sandbox.entra.registry import AUTHORIZATION_CODE_TTL_SECONDS, AuthorizationCode, SandboxApp
from dataverse.sandbox.entra.scopes import ScopeRequest, parse_scope
from dataverse.sandbox.users import SANDBOX_PASSWORD, SandboxUser, user_by_username


class _RedirectableError(Exception):
    """An error to send back to the (already validated) redirect URI."""

    def __init__(self, error: SandboxEntraError) -> None:
        super().__init__(error.description)
        self.error = error


def _check_client(context: SandboxEntraContext, params: dict[str, str]) -> tuple[SandboxApp, str]:
    client_id = params.get("client_id", "")
    try:
        app = context.registry.get_app(client_id)
    except KeyError:
        raise SandboxEntraError(
            "unauthorized_client", 700016,
            f"Application with identifier '{client_id}' was not found in the directory '{context.tenant_id}'.",
        ) from None
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        raise SandboxEntraError(
            "invalid_request", 50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured "
            f"for the application '{client_id}'.",
        )
    return app, redirect_uri


def _check_request(context: SandboxEntraContext, params: dict[str, str]) -> ScopeRequest:
    if params.get("response_type") != "code":
        raise _RedirectableError(SandboxEntraError(
            "unsupported_response_type", 700054, "response_type must be 'code' for this application."
        ))
    if params.get("response_mode", "query") != "query":
        raise _RedirectableError(SandboxEntraError(
            "invalid_request", 900144, "The sandbox supports response_mode=query only."
        ))
    if "resource" in params:
        raise _RedirectableError(SandboxEntraError(
            "invalid_target", 9010010,
            "The resource parameter provided in the request doesn't match with the requested scopes.",
        ))
    if not params.get("code_challenge"):
        raise _RedirectableError(SandboxEntraError(
            "invalid_request", 9002325,
            "Proof Key for Code Exchange is required. The request must include a code_challenge.",
        ))
    if params.get("code_challenge_method") != "S256":
        raise _RedirectableError(SandboxEntraError(
            "invalid_request", 501491, "Invalid code_challenge_method: the sandbox accepts S256 only."
        ))
    try:
        return parse_scope(params.get("scope"), registry=context.registry, tenant_name=context.tenant_id)
    except SandboxEntraError as error:
        raise _RedirectableError(error) from None


def _redirect(redirect_uri: str, values: dict[str, str]) -> RedirectResponse:
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(values)}", status_code=302,
                            headers={"Cache-Control": "no-store"})


def _error_redirect(redirect_uri: str, error: SandboxEntraError, state: str | None) -> RedirectResponse:
    values = {"error": error.error, "error_description": error.description, "error_codes": str(error.code)}
    if state is not None:
        values["state"] = state
    return _redirect(redirect_uri, values)


def _user_for(name: str | None) -> SandboxUser | None:
    if not name:
        return None
    try:
        return user_by_username(name.split("@", 1)[0] if name.endswith("@sandbox.example") else name)
    except KeyError:
        return None


async def handle_authorize(request: Request, context: SandboxEntraContext) -> Response:
    """GET shows the sign-in page; POST (the same URL) signs in and redirects with a code."""
    params = dict(request.query_params)
    try:
        context.check_tenant(request.path_params["tenant"])
        app, redirect_uri = _check_client(context, params)
    except SandboxEntraError as error:
        return error_page(error)
    state = params.get("state")
    try:
        scope_request = _check_request(context, params)
    except _RedirectableError as failure:
        return _error_redirect(redirect_uri, failure.error, state)

    action = f"{request.url.path}?{request.url.query}"
    if request.method == "GET":
        return sign_in_page(action=action, app=app, selected=_user_for(params.get("login_hint")), message=None)

    form = await read_form(request)
    user = _user_for(form.get("username"))
    if user is None or form.get("password") != SANDBOX_PASSWORD:
        return sign_in_page(
            action=action, app=app, selected=user, status_code=400,
            message="AADSTS50126: Error validating credentials due to invalid username or password.",
        )
    code = context.registry.create_code(AuthorizationCode(
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        user=user,
        scopes=(*scope_request.scope_strings, *sorted(scope_request.oidc)),
        code_challenge=params["code_challenge"],
        nonce=params.get("nonce"),
        expires_at=time.time() + AUTHORIZATION_CODE_TTL_SECONDS,
    ))
    values = {"code": code}
    if state is not None:
        values["state"] = state
    values["session_state"] = str(uuid.uuid5(uuid.NAMESPACE_URL, user.object_id))
    return _redirect(redirect_uri, values)
