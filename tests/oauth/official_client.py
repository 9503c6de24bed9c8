"""The official MCP client (mcp.client.auth.OAuthClientProvider) wired to the test server: its browser leg is played
by conftest.Browser (consent -> sandbox Entra sign-in -> callback), and what lands on the client's redirect URI is
handed back to the SDK, which checks `state` and RFC 9207 `iss` itself before it exchanges the code."""

from __future__ import annotations

import asyncio

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from .conftest import Browser, query


class MemoryTokenStorage:
    def __init__(self, client_info: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def official_client(
    server,
    storage: MemoryTokenStorage,
    browser: Browser,
    *,
    redirect_uri: str,
    username: str = "alice",
    client_metadata_url: str | None = None,
    landed: list[dict[str, str]] | None = None,
) -> OAuthClientProvider:
    """An OAuthClientProvider that authorizes with `redirect_uri`; `landed` collects what each redirect carried."""
    arrived: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def redirect_handler(url: str) -> None:
        _, fields = await browser.open_consent(url)
        approved = await browser.post_consent(server.base_url, fields)
        assert approved.status_code == 303, approved.text
        callback_url = await browser.sign_in_at_entra(approved.headers["location"], username)
        final = await browser.request("GET", callback_url)
        assert final.status_code == 302 and final.headers["location"].startswith(redirect_uri), final.headers
        parameters = query(final.headers["location"])
        if landed is not None:
            landed.append(parameters)
        await arrived.put(parameters)

    async def callback_handler() -> AuthorizationCodeResult:
        parameters = await arrived.get()
        return AuthorizationCodeResult(code=parameters["code"], state=parameters.get("state"),
                                       iss=parameters.get("iss"))

    return OAuthClientProvider(
        server_url=server.mcp_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[redirect_uri], client_name="Official SDK client", token_endpoint_auth_method="none",
            grant_types=["authorization_code", "refresh_token"],
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )


async def call_whoami(server, provider: OAuthClientProvider) -> str:
    async with httpx2.AsyncClient(auth=provider, timeout=20) as http:
        async with Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
            result = await client.call_tool("whoami", {})
    return result.content[0].text
