"""Sign a sandbox user in through the app's real OAuth flow, as a connector and a browser would, for scripts,
benchmarks and tests: dynamic client registration, PKCE S256, the consent page, the sandbox Entra sign-in, the
callback and the token exchange. Nothing is short-circuited; it only plays both the client and the browser."""

from __future__ import annotations

import html
import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from starlette.types import ASGIApp

from dataverse.sandbox.entra.browser import create_pkce_pair
from dataverse.sandbox.users import SANDBOX_PASSWORD, SandboxUser

CLIENT_REDIRECT_URI = "http://127.0.0.1:33418/callback"
_HIDDEN_FIELD = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


class _Browser:
    """An httpx client that keeps cookies by hand (httpx will not send `Secure` cookies over plain http)."""

    def __init__(self, client: httpx.AsyncClient):
        self._client = client
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, url: str, *, data: dict[str, str] | None = None) -> httpx.Response:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = await self._client.request(method, url, headers=headers, data=data)
        for raw in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return response


def _expect_redirect(response: httpx.Response, step: str) -> str:
    if response.status_code not in (302, 303):
        raise RuntimeError(f"sandbox sign-in: {step} answered {response.status_code}: {response.text[:300]}")
    return response.headers["location"]


async def sign_in(
    app: ASGIApp | None, *, base_url: str, user: SandboxUser, client: httpx.AsyncClient | None = None
) -> dict[str, object]:
    """The token response (access_token, refresh_token, expires_in, ...) for `user` from the app at `base_url`.

    Uses `client` when given (e.g. real loopback HTTP; `app` may then be None), else the ASGI app in-process.
    """
    if client is not None:
        http = client
    elif app is not None:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=30)
    else:
        raise ValueError("sign_in needs the app to call in-process, or a client that reaches it")
    try:
        browser = _Browser(http)
        registration = await http.post(f"{base_url}/register", json={
            "redirect_uris": [CLIENT_REDIRECT_URI], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "client_name": "sandbox sign-in script",
        })
        registration.raise_for_status()
        client_id = registration.json()["client_id"]
        verifier, challenge = create_pkce_pair()
        state = secrets.token_urlsafe(16)
        authorize = f"{base_url}/authorize?" + urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": CLIENT_REDIRECT_URI,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": state,
            "resource": f"{base_url}/mcp",
        })
        consent_url = _expect_redirect(await browser.request("GET", authorize), "authorize")
        page = await browser.request("GET", consent_url)
        fields = {name: html.unescape(value) for name, value in _HIDDEN_FIELD.findall(page.text)}
        entra_url = _expect_redirect(
            await browser.request("POST", f"{base_url}/consent", data={**fields, "decision": "approve"}), "consent"
        )
        sign_in_page = await browser.request("GET", entra_url)
        if sign_in_page.status_code != 200:
            raise RuntimeError(f"sandbox sign-in page answered {sign_in_page.status_code}")
        callback_url = _expect_redirect(
            await browser.request("POST", entra_url, data={"username": user.username, "password": SANDBOX_PASSWORD}),
            "Entra sign-in",
        )
        client_redirect = _expect_redirect(await browser.request("GET", callback_url), "callback")
        answer = {key: values[0] for key, values in parse_qs(urlsplit(client_redirect).query).items()}
        if answer.get("state") != state or "code" not in answer:
            raise RuntimeError(f"sandbox sign-in: the callback returned {answer}")
        token = await http.post(f"{base_url}/token", data={
            "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": CLIENT_REDIRECT_URI,
            "client_id": client_id, "code_verifier": verifier, "resource": f"{base_url}/mcp",
        })
        token.raise_for_status()
        body = token.json()
        if not isinstance(body, dict):
            raise TypeError(f"sandbox sign-in: /token answered {body!r}, not a token response")
        return body
    finally:
        if client is None:
            await http.aclose()
