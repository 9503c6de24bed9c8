"""GET/POST /authorize: the authorization request (RFC 6749 4.1.1, PKCE RFC 7636, resource RFC 8707, iss RFC 9207).

The python-sdk's AuthorizationHandler answers every error it cannot redirect with JSON (a person in a browser saw
raw JSON), redirects errors without `iss`, refuses scopes the client did not register (`offline_access`), requires
an exact redirect match (RFC 8252 lets a loopback port vary) and takes a `state` of any size. This handler keeps its
request rules and the provider seam (`provider.authorize` parks the request and names our consent page) and:
- errors before the client and its redirect URI are known never redirect: a browser (Accept: text/html) gets a page
  with the next step; anything else gets JSON. An unknown client id answers 401 with the shape mcp-remote recovers
  from (`registration_endpoint` and "Client ID '<id>' is not registered"), so it registers again;
- every later error redirects to the client with `error`, `state` and `iss`;
- unknown scopes are ignored (scopes.py); a loopback redirect may name another port (redirects.py);
- every parameter has a size cap (PARAMETER_CAPS): `state` longer than MAX_STATE_CHARS is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from mcp.server.auth.provider import AuthorizationParams, AuthorizeError
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import AnyUrl, ConfigDict, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from dataverse.oauth.page_shell import Branding
from dataverse.oauth.pages import redirect_to_client
from dataverse.oauth.problem_pages import (
    BAD_REQUEST,
    CLIENT_NOT_REGISTERED,
    REDIRECT_NOT_REGISTERED,
    Problem,
    prefers_html,
    problem_page,
)
from dataverse.oauth.provider import DataverseOAuthProvider
from dataverse.oauth.redirects import registered_match
from dataverse.oauth.scopes import MAX_SCOPE_CHARS, ScopePolicy

logger = logging.getLogger(__name__)

MAX_STATE_CHARS = 2048
MAX_AUTHORIZE_BODY_BYTES = 16 * 1024
PARAMETER_CAPS = {
    "client_id": 2048,
    "redirect_uri": 2048,
    "state": MAX_STATE_CHARS,
    "scope": MAX_SCOPE_CHARS,
    "code_challenge": 128,
    "code_challenge_method": 16,
    "response_type": 32,
    "resource": 2048,
}
_URL = TypeAdapter(AnyUrl, config=ConfigDict(url_preserve_empty_path=True))
NO_STORE = {"Cache-Control": "no-store"}


class _Refusal(Exception):
    """An error found before the redirect URI is trusted: answered here, never redirected."""

    def __init__(self, problem: Problem, error: str, description: str, *, status_code: int = 400) -> None:
        super().__init__(description)
        self.problem, self.error, self.description, self.status_code = problem, error, description, status_code


def _normalised(uri: str) -> str | None:
    try:
        return str(_URL.validate_python(uri))
    except ValidationError:
        return None


class AuthorizeEndpoint:
    """GET and POST /authorize."""

    def __init__(
        self,
        provider: DataverseOAuthProvider,
        scopes: ScopePolicy,
        *,
        issuer: str,
        registration_endpoint: str,
        branding: Branding,
    ) -> None:
        self._provider = provider
        self._scopes = scopes
        self._issuer = issuer
        self._registration_endpoint = registration_endpoint
        self._branding = branding

    async def handle(self, request: Request) -> Response:
        source = request.query_params if request.method == "GET" else await request.form()
        params = {name: value for name, value in source.items() if isinstance(value, str)}
        try:
            client = await self._client(params)
            redirect_uri = self._redirect_uri(client, params.get("redirect_uri"))
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        state = params.get("state")
        oversized = next((name for name, cap in PARAMETER_CAPS.items() if len(params.get(name) or "") > cap), None)
        if oversized is not None:
            return self._redirect_error(redirect_uri, "invalid_request", f"{oversized} is too long",
                                        None if oversized == "state" else state)
        if params.get("response_type") != "code":
            return self._redirect_error(redirect_uri, "unsupported_response_type", "response_type must be 'code'",
                                        state)
        challenge = params.get("code_challenge")
        if not challenge:
            return self._redirect_error(redirect_uri, "invalid_request", "code_challenge is required (PKCE)", state)
        if params.get("code_challenge_method", "S256") != "S256":
            return self._redirect_error(redirect_uri, "invalid_request", "code_challenge_method must be S256", state)
        authorization = AuthorizationParams(
            state=state,
            scopes=self._scopes.grant(params.get("scope")),
            code_challenge=challenge,
            redirect_uri=AnyUrl(redirect_uri),
            redirect_uri_provided_explicitly="redirect_uri" in params,
            resource=params.get("resource"),
        )
        try:
            next_url = await self._provider.authorize(client, authorization)
        except AuthorizeError as error:
            return self._redirect_error(redirect_uri, error.error, error.error_description or error.error, state)
        return RedirectResponse(next_url, status_code=302, headers=NO_STORE)

    async def _client(self, params: Mapping[str, str]) -> OAuthClientInformationFull:
        client_id = params.get("client_id") or ""
        if not client_id or len(client_id) > PARAMETER_CAPS["client_id"]:
            raise _Refusal(BAD_REQUEST, "invalid_request", "client_id is missing or too long")
        client = await self._provider.get_client(client_id)
        if client is None:
            raise _Refusal(CLIENT_NOT_REGISTERED, "invalid_client",
                           f"Client ID '{client_id[:200]}' is not registered with this server; register again at "
                           f"{self._registration_endpoint}", status_code=401)
        return client

    def _redirect_uri(self, client: OAuthClientInformationFull, requested: str | None) -> str:
        registered = [str(uri) for uri in client.redirect_uris or []]
        if requested is None:
            if len(registered) == 1:
                return registered[0]
            raise _Refusal(REDIRECT_NOT_REGISTERED, "invalid_request",
                           "redirect_uri is required when the client registered more than one")
        normalised = _normalised(requested) if len(requested) <= PARAMETER_CAPS["redirect_uri"] else None
        matched = registered_match(normalised, registered) if normalised else None
        if matched is None:
            raise _Refusal(REDIRECT_NOT_REGISTERED, "invalid_request",
                           f"Redirect URI '{requested[:300]}' is not registered for this client")
        return matched

    def _refuse(self, request: Request, refusal: _Refusal) -> Response:
        logger.info("authorize refused before the redirect: %s", refusal.description)
        if prefers_html(request.headers.get("accept")):
            return problem_page(self._branding, refusal.problem, status_code=refusal.status_code)
        body = {"error": refusal.error, "error_description": refusal.description}
        if refusal.error == "invalid_client":
            body["registration_endpoint"] = self._registration_endpoint
        return JSONResponse(body, status_code=refusal.status_code, headers=NO_STORE)

    def _redirect_error(self, redirect_uri: str, error: str, description: str, state: str | None) -> Response:
        return redirect_to_client(redirect_uri, issuer=self._issuer, error=error, error_description=description,
                                  state=state)
