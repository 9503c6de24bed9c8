"""What the browser gets from the proxy besides HTML: the `__Host-` cookies of the consent flow and redirects back to
a client's (already validated) redirect URI, with the RFC 9207 `iss` on every one. The pages themselves are in
page_shell.py (the shell and style), consent_page.py and problem_pages.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from starlette.responses import RedirectResponse, Response

BROWSER_COOKIE = "__Host-dv_browser"
CONSENT_COOKIE = "__Host-dv_consent"
BROWSER_COOKIE_MAX_AGE = 30 * 24 * 3600


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def set_host_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    """A `__Host-` cookie: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax")


def clear_host_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")


def redirect_to_client(redirect_uri: str, *, issuer: str, status_code: int = 302, **params: str | None) -> Response:
    """Back to the client's registered redirect URI with our response parameters (RFC 9207 `iss` included)."""
    url = construct_redirect_uri(redirect_uri, **params, iss=issuer)
    return RedirectResponse(url, status_code=status_code, headers={"Cache-Control": "no-store"})
