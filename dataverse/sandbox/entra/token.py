"""The sandbox `/{tenant}/oauth2/v2.0/token` endpoint: authorization_code (PKCE S256, single-use codes, exact
redirect_uri), refresh_token (rotating; `scope` required), On-Behalf-Of (jwt-bearer, requested_token_use=
on_behalf_of, AADSTS65001 without admin consent) and password (sandbox users only), with Entra's error bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dataverse.sandbox.entra.client_auth import authenticate_client
from dataverse.sandbox.entra.context import SandboxEntraContext, read_form
from dataverse.sandbox.entra.errors import SandboxEntraError, missing_parameter, resource_parameter_rejected
from dataverse.sandbox.entra.minting import build_token_response
from dataverse.sandbox.entra.registry import SandboxApp
from dataverse.sandbox.entra.scopes import OIDC_SCOPES, ScopeRequest, parse_scope
from dataverse.sandbox.identity import process_signing_key
from dataverse.sandbox.users import SANDBOX_PASSWORD, SandboxUser, user_by_object_id, user_by_username

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _invalid_grant(code: int, message: str) -> SandboxEntraError:
    return SandboxEntraError("invalid_grant", code, message)


def _require(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise missing_parameter(name)
    return value


def _check_consent(app: SandboxApp, request: ScopeRequest) -> None:
    if request.kind == "dataverse" and not app.admin_consent_granted:
        raise _invalid_grant(
            65001,
            f"The user or administrator has not consented to use the application with ID '{app.client_id}' named "
            f"'Dataverse MCP'. Send an interactive authorization request for this user and resource.",
        )


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected, challenge)


def _parse(scope: str | None, context: SandboxEntraContext) -> ScopeRequest:
    return parse_scope(scope, registry=context.registry, tenant_name=context.tenant_id)


def _authorization_code_grant(app: SandboxApp, form: dict[str, str], context: SandboxEntraContext) -> dict[str, Any]:
    code = _require(form, "code")
    try:
        grant = context.registry.redeem_code(code)
    except KeyError:
        raise _invalid_grant(70000, "The provided value for the 'code' parameter is not valid.") from None
    except ValueError as problem:
        if str(problem) == "redeemed":
            raise _invalid_grant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new "
                                        "valid code or use an existing refresh token.") from None
        raise _invalid_grant(70008, "The provided authorization code or refresh token has expired due to "
                                    "inactivity. Send a new interactive authorization request.") from None
    if grant.client_id != app.client_id:
        raise _invalid_grant(700005, "Provided Authorization Code is intended to use against other tenant or app.")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise _invalid_grant(50011, "The redirect URI specified in the request does not match the redirect URI "
                                    "used to obtain the authorization code.")
    verifier = form.get("code_verifier")
    if not verifier or not _pkce_matches(verifier, grant.code_challenge):
        raise _invalid_grant(501481, "The Code_Verifier does not match the code_challenge supplied in the "
                                     "authorization request.")
    granted = _parse(" ".join(grant.scopes), context)
    requested = _parse(form["scope"], context) if form.get("scope") else granted
    if requested.resource != granted.resource or not set(requested.permissions) <= set(granted.permissions):
        raise SandboxEntraError("invalid_scope", 70011, "The scope requested on redemption was not part of the "
                                                        "authorization request.")
    request = ScopeRequest(requested.resource, requested.kind, requested.permissions, granted.oidc)
    _check_consent(app, request)
    return build_token_response(registry=context.registry, app=app, user=grant.user, request=request,
                                issuer=context.issuer, nonce=grant.nonce)


def _refresh_token_grant(app: SandboxApp, form: dict[str, str], context: SandboxEntraContext) -> dict[str, Any]:
    token = _require(form, "refresh_token")
    request = _parse(form.get("scope"), context)
    try:
        grant = context.registry.use_refresh_token(token)
    except KeyError:
        raise _invalid_grant(50173, "The provided grant has expired due to it being revoked, a fresh auth token "
                                    "is needed.") from None
    except ValueError as problem:
        if str(problem) == "used":
            raise _invalid_grant(70000, "The provided value for the 'refresh_token' is not valid: it was already "
                                        "redeemed.") from None
        raise _invalid_grant(700082, "The refresh token has expired due to inactivity.") from None
    if grant.client_id != app.client_id:
        raise _invalid_grant(700005, "Provided refresh token is intended to use against other tenant or app.")
    granted_oidc = frozenset(scope for scope in grant.scopes if scope in OIDC_SCOPES)
    request = ScopeRequest(request.resource, request.kind, request.permissions,
                           (request.oidc & granted_oidc) | (granted_oidc & {"offline_access"}))
    _check_consent(app, request)
    return build_token_response(registry=context.registry, app=app, user=grant.user, request=request,
                                issuer=context.issuer)


def _user_from_assertion(assertion: str, app: SandboxApp, context: SandboxEntraContext) -> SandboxUser:
    try:
        claims = process_signing_key().verify(assertion, audience=app.application_id_uri, issuer=context.issuer)
    except jwt.ExpiredSignatureError:
        raise _invalid_grant(500133, "Assertion is not within its valid time range.") from None
    except jwt.InvalidAudienceError:
        raise _invalid_grant(500131, "Assertion audience does not match the Client app presenting the "
                                     "assertion.") from None
    except jwt.InvalidTokenError:
        raise _invalid_grant(50013, "Assertion failed signature validation.") from None
    try:
        return user_by_object_id(str(claims.get("oid")))
    except KeyError:
        raise _invalid_grant(50013, "Assertion names a user who is not in this directory.") from None


def _on_behalf_of_grant(app: SandboxApp, form: dict[str, str], context: SandboxEntraContext) -> dict[str, Any]:
    if form.get("requested_token_use") != "on_behalf_of":
        raise SandboxEntraError("invalid_request", 50034, "requested_token_use must be 'on_behalf_of'.")
    user = _user_from_assertion(_require(form, "assertion"), app, context)
    request = _parse(_require(form, "scope"), context)
    if request.kind != "dataverse":
        raise SandboxEntraError("invalid_scope", 70011, "On-Behalf-Of in the sandbox targets a Dataverse "
                                                        "environment (<env-url>/user_impersonation).")
    request = ScopeRequest(request.resource, request.kind, request.permissions, frozenset())
    _check_consent(app, request)
    return build_token_response(registry=context.registry, app=app, user=user, request=request,
                                issuer=context.issuer, issue_refresh_token=False)


def _password_grant(app: SandboxApp, form: dict[str, str], context: SandboxEntraContext) -> dict[str, Any]:
    username = _require(form, "username")
    try:
        user = user_by_username(username.split("@", 1)[0] if username.endswith("@sandbox.example") else username)
    except KeyError:
        user = None
    if user is None or form.get("password") != SANDBOX_PASSWORD:
        raise _invalid_grant(50126, "Error validating credentials due to invalid username or password.")
    request = _parse(form.get("scope"), context)
    _check_consent(app, request)
    return build_token_response(registry=context.registry, app=app, user=user, request=request,
                                issuer=context.issuer)


GRANTS = {
    "authorization_code": _authorization_code_grant,
    "refresh_token": _refresh_token_grant,
    JWT_BEARER_GRANT: _on_behalf_of_grant,
    "password": _password_grant,
}


async def handle_token(request: Request, context: SandboxEntraContext) -> Response:
    form = await read_form(request)
    try:
        context.check_tenant(request.path_params["tenant"])
        grant_type = _require(form, "grant_type")
        handler = GRANTS.get(grant_type)
        if handler is None:
            raise SandboxEntraError("unsupported_grant_type", 70003,
                                    f"The app requested an unsupported grant type '{grant_type}'.")
        if "resource" in form:
            raise resource_parameter_rejected()
        app = authenticate_client(request, form, context)
        body = handler(app, form, context)
    except SandboxEntraError as error:
        return error.to_response()
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
