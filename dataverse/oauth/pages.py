"""What the browser sees from the proxy: the consent page, error pages, the hardened headers they carry, the
`__Host-` cookies of the consent flow, and redirects back to a client's (already validated) redirect URI."""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

BROWSER_COOKIE = "__Host-dv_browser"
CONSENT_COOKIE = "__Host-dv_consent"
BROWSER_COOKIE_MAX_AGE = 30 * 24 * 3600


def page_headers(*, form_targets: tuple[str, ...] = ()) -> dict[str, str]:
    """No caching, no framing (clickjacking), no referrer, nothing loaded from elsewhere."""
    form_action = " ".join(("'self'", *form_targets))
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
    }


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "dt{font-weight:600;margin-top:.6rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem}"
)


def error_page(message: str, *, status_code: int = 400) -> HTMLResponse:
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>Sign-in problem</title><style>{_STYLE}</style>'
        f'</head><body><h1>Sign-in problem</h1><p id="error">{html.escape(message)}</p></body></html>'
    )
    return HTMLResponse(body, status_code=status_code, headers=page_headers())


@dataclass(frozen=True)
class ConsentView:
    transaction_id: str
    csrf_token: str
    client_name: str
    client_id: str
    redirect_host: str
    scopes: list[str]
    environment: str
    resource: str


def consent_page(view: ConsentView, *, form_targets: tuple[str, ...]) -> HTMLResponse:
    esc = html.escape
    scopes = "".join(f"<li><code>{esc(scope)}</code></li>" for scope in view.scopes)
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>Allow access?</title><style>{_STYLE}</style>'
        "</head><body>"
        f'<h1>Allow <span id="client-name">{esc(view.client_name)}</span> to use Dataverse as you?</h1>'
        "<p>After you approve, you will sign in with Microsoft Entra ID. The application will then be able to read "
        "and change the Dataverse data you can, with your permissions, until you sign out or revoke it.</p><dl>"
        f'<dt>Application</dt><dd>{esc(view.client_name)} <small>(<code id="client-id">{esc(view.client_id)}'
        "</code>)</small></dd>"
        f'<dt>It will receive your access at</dt><dd id="redirect-host"><strong>{esc(view.redirect_host)}</strong>'
        "</dd>"
        f'<dt>Permissions</dt><dd><ul id="scopes">{scopes}</ul></dd>'
        f'<dt>Dataverse environment</dt><dd id="environment">{esc(view.environment)}</dd>'
        f'<dt>Server</dt><dd><code>{esc(view.resource)}</code></dd></dl>'
        "<p>Only approve if you started this from that application and you trust it.</p>"
        '<form method="post" action="/consent">'
        f'<input type="hidden" name="transaction" value="{esc(view.transaction_id)}">'
        f'<input type="hidden" name="csrf_token" value="{esc(view.csrf_token)}">'
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form></body></html>"
    )
    return HTMLResponse(body, headers=page_headers(form_targets=form_targets))


def set_host_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    """A `__Host-` cookie: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax")


def clear_host_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")


def redirect_to_client(redirect_uri: str, *, issuer: str, status_code: int = 302, **params: str | None) -> Response:
    """Back to the client's registered redirect URI with our response parameters (RFC 9207 `iss` included)."""
    url = construct_redirect_uri(redirect_uri, **params, iss=issuer)
    return RedirectResponse(url, status_code=status_code, headers={"Cache-Control": "no-store"})


def cookie(request: Request, name: str) -> str | None:
    return request.cookies.get(name)
