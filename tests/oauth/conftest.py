"""A real test server for the OAuth proxy: our routes + the sandbox Entra + an MCPServer with one authenticated tool,
served over loopback HTTP (uvicorn, 127.0.0.1, port 0, lifespan on), and a cookie-keeping `Browser` that walks the
authorize -> consent -> Entra sign-in -> callback chain one hop at a time so tests can attack any hop."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.oauth.entra import EntraClient
from dataverse.oauth.guard import transport_security_settings
from dataverse.oauth.routes import OAuthComponents, create_oauth
from dataverse.sandbox.entra import (
    SANDBOX_ENTRA_MOUNT_PATH,
    SandboxAppRegistry,
    create_sandbox_entra_app,
    sandbox_entra_client_options,
)
from dataverse.sandbox.entra.loopback import serve_on_loopback
from dataverse.settings import Settings
from dataverse.storage.memory import MemoryStore
from dataverse.storage.protocol import Store

CLIENT_REDIRECT = "http://localhost:3030/callback"
TEST_KEY = base64.b64encode(b"k" * 32).decode()


class Clock:
    """Wall-clock time that a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    @classmethod
    def starting_a_window(cls, window_seconds: int = 60) -> Clock:
        """A clock one second into a fresh rate-limit window, so a test's requests never straddle two windows."""
        clock = cls()
        clock.advance(window_seconds - clock() % window_seconds + 1)
        return clock


@dataclass
class TestServer:
    base_url: str
    settings: Settings
    oauth: OAuthComponents
    registry: SandboxAppRegistry
    store: MemoryStore
    clock: Clock

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


def build_test_app(base_url: str, *, store: Store, clock: Clock, registry: SandboxAppRegistry,
                   oauth_options: dict | None = None,
                   **setting_overrides) -> tuple[Starlette, Settings, OAuthComponents]:
    oauth_options = oauth_options or {}
    settings = Settings(public_base_url=base_url, token_encryption_key=TEST_KEY, **setting_overrides)
    registry.apps[0].redirect_uris = (f"{base_url}/oauth/callback",)
    entra = EntraClient(**sandbox_entra_client_options(base_url=base_url))
    oauth = create_oauth(settings, store=store, entra=entra, clock=clock, sandbox=True, **oauth_options)
    mcp = MCPServer("oauth-test", token_verifier=oauth.token_verifier, auth=oauth.auth_settings)

    @mcp.tool()
    def whoami() -> str:
        """Who the bearer token says the caller is."""
        token = get_access_token()
        assert token is not None
        return f"{token.subject} {(token.claims or {}).get('upn')}"

    mcp_app = mcp.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=transport_security_settings(
            public_base_url=base_url, allowed_hosts=[], allowed_origins=[]
        ),
    )
    entra_app = create_sandbox_entra_app(public_base_url=base_url, registry=registry)
    app = Starlette(
        routes=[*oauth.routes, Mount(SANDBOX_ENTRA_MOUNT_PATH, app=entra_app), Mount("", app=mcp_app)],
        lifespan=lambda _app: mcp.session_manager.run(),
    )
    return oauth.guard(app), settings, oauth


@contextlib.contextmanager
def serve(build) -> Iterator[str]:
    """Serve `build(base_url)` over loopback HTTP, with its lifespan (the MCP session manager) running."""
    with serve_on_loopback(build, lifespan="on", name="test") as base_url:
        yield base_url


@contextlib.contextmanager
def running_server(*, store: Store | None = None, clock: Clock | None = None, oauth_options: dict | None = None,
                   **setting_overrides) -> Iterator[TestServer]:
    """A test server over loopback HTTP; pass one `store` to two of them for two instances of one deployment."""
    clock = clock or Clock()
    store = store or MemoryStore(clock=clock)
    registry = SandboxAppRegistry.create_default(redirect_uris=[])
    built: dict = {}

    def build(base_url: str):
        app, built["settings"], built["oauth"] = build_test_app(
            base_url, store=store, clock=clock, registry=registry, oauth_options=oauth_options, **setting_overrides)
        return app

    with serve(build) as base_url:
        yield TestServer(base_url, built["settings"], built["oauth"], registry, store, clock)


@pytest.fixture
def server() -> Iterator[TestServer]:
    with running_server() as running:
        yield running


CIMD_URL = "https://client.example/oauth/claude-metadata.json"
PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture
def server_with_cimd() -> Iterator[tuple[TestServer, str]]:
    """A server whose CIMD fetches reach a stand-in for client.example (a public address) serving one document."""
    document = {"client_id": CIMD_URL, "client_name": "Claude (metadata document)",
                "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}

    def serve_document(request: httpx.Request) -> httpx.Response:
        assert request.headers["host"] == "client.example" and request.url.path == "/oauth/claude-metadata.json"
        return httpx.Response(200, json=document)

    async def public(host: str, port: int) -> list[str]:
        return [PUBLIC_ADDRESS]

    options = {"cimd_transport": httpx.MockTransport(serve_document), "cimd_resolver": public}
    with running_server(oauth_options=options) as running:
        yield running, CIMD_URL


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def query(url: str | httpx.URL) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(str(url)).query).items()}


@dataclass
class Browser:
    """A user agent that keeps cookies by hand (httpx will not send `Secure` cookies over loopback http)."""

    name: str = "browser"
    cookies: dict[str, str] = field(default_factory=dict)
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(follow_redirects=False, timeout=10))

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = await self.http.request(method, url, headers=headers, **kwargs)
        for raw in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    async def open_consent(self, authorize_url: str) -> tuple[httpx.Response, dict[str, str]]:
        """Follow /authorize to the consent page; return the page and its hidden form fields."""
        first = await self.request("GET", authorize_url)
        assert first.status_code == 302, first.text
        page = await self.request("GET", first.headers["location"])
        fields = {name: html.unescape(value) for name, value in
                  re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', page.text)}
        return page, fields

    async def post_consent(self, base_url: str, fields: dict[str, str], decision: str = "approve") -> httpx.Response:
        return await self.request("POST", f"{base_url}/consent", data={**fields, "decision": decision})

    async def sign_in_at_entra(self, entra_url: str, username: str = "alice") -> str:
        page = await self.request("GET", entra_url)
        assert page.status_code == 200, page.text
        answer = await self.request("POST", entra_url, data={"username": username, "password": "sandbox"})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def authorize(self, base_url: str, authorize_url: str, *, username: str = "alice") -> dict[str, str]:
        """The whole browser leg; returns the query the client's redirect URI receives."""
        _, fields = await self.open_consent(authorize_url)
        approved = await self.post_consent(base_url, fields)
        assert approved.status_code == 303, approved.text
        callback_url = await self.sign_in_at_entra(approved.headers["location"], username)
        final = await self.request("GET", callback_url)
        assert final.status_code == 302, final.text
        return query(final.headers["location"])

    async def aclose(self) -> None:
        await self.http.aclose()


async def register_client(base_url: str, *, redirect_uris: list[str] | None = None, **metadata) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{base_url}/register", json={
            "redirect_uris": redirect_uris or [CLIENT_REDIRECT],
            "client_name": "Attack Test Client",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            **metadata,
        })


def authorize_url(base_url: str, client_id: str, challenge: str, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CLIENT_REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(8),
        "scope": "MCP.Access",
        "resource": f"{base_url}/mcp",
        **overrides,
    }
    return f"{base_url}/authorize?{urlencode({k: v for k, v in params.items() if v is not None})}"
