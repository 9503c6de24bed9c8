"""The sign-in a person goes through, in headless Chromium against the whole app served as `make run` serves it: the
official MCP client (OAuthClientProvider) starts the flow, the browser shows our consent page, the sandbox sign-in
and the callback, and the client then calls a tool as alice. At desktop width and at 390 px (by keyboard), every page:
no axe violation of serious or critical impact, no sideways scroll, a screenshot in test-artifacts/browser/."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from dataverse.sandbox.users import ALICE
from tests.oauth.official_client import MemoryTokenStorage
from tests.served_sandbox import sandbox_server

from .conftest import DESKTOP, PHONE, SMALLEST, check_page

CLIENT_CALLBACK = "http://127.0.0.1:33418/callback"
DONE_PAGE = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Connected</title></head>'
             "<body><main><h1>Connected</h1></main></body></html>")


async def tab_to(page, element_id: str, *, limit: int = 40) -> None:
    """Move the keyboard focus to #element_id with Tab, as a keyboard user would; fail if it is never reached."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with the keyboard")


async def walk_the_browser_leg(page, url: str, viewport: dict, *, keyboard: bool) -> dict[str, str]:
    """Consent -> sandbox sign-in -> callback in the browser; returns what the client's redirect URI received."""
    landed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def client_callback(route) -> None:
        if not landed.done():
            landed.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body=DONE_PAGE)

    await page.route("http://127.0.0.1:33418/**", client_callback)
    label = "flow"
    await page.goto(url)
    await page.wait_for_selector("#approve")
    assert await page.inner_text("h1") == "Allow an app to use Dataverse as you?"
    assert await page.is_visible("#identity-mark") and await page.is_visible("#abilities")
    assert await check_page(page, label, "1-consent") == []
    if keyboard:
        await tab_to(page, "approve")
        await page.keyboard.press("Enter")
    else:
        await page.click("#approve")
    await page.wait_for_selector("#sign-in")
    assert "Dataverse MCP (sandbox)" in await page.inner_text("h1")
    assert await check_page(page, label, "2-sign-in") == []
    await page.check("input[value=alice]")
    await page.fill("#password", "sandbox")
    if keyboard:
        await page.focus("#password")
        await page.keyboard.press("Enter")
    else:
        await page.click("#sign-in")
    final = await asyncio.wait_for(landed, 20)
    await page.wait_for_selector("h1")
    await check_page(page, label, "3-back-in-the-app")
    return {key: values[0] for key, values in parse_qs(urlsplit(final).query).items()}


@pytest.mark.parametrize("viewport, keyboard", [(DESKTOP, False), (PHONE, True)], ids=["desktop", "phone"])
async def test_the_whole_sign_in_in_a_browser_then_a_tool_call_as_alice(server, chromium, viewport, keyboard):
    page = await chromium.new_page()
    await page.set_viewport_size(viewport)
    arrived: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def redirect_handler(url: str) -> None:
        await arrived.put(await walk_the_browser_leg(page, url, viewport, keyboard=keyboard))

    async def callback_handler() -> AuthorizationCodeResult:
        answer = await arrived.get()
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    storage = MemoryTokenStorage()
    provider = OAuthClientProvider(
        server_url=server.mcp_url,
        client_metadata=OAuthClientMetadata(redirect_uris=[CLIENT_CALLBACK], client_name="Browser test client",
                                            token_endpoint_auth_method="none"),
        storage=storage, redirect_handler=redirect_handler, callback_handler=callback_handler,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
            result = await client.call_tool("whoami", {})
    assert result.is_error is False and ALICE.full_name in result.content[0].text
    assert storage.tokens.expires_in and storage.tokens.refresh_token


async def register(server, name: str, redirect_uri: str = CLIENT_CALLBACK) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.base_url}/register", json={
            "client_name": name, "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"})
    assert response.status_code == 201, response.text
    return response.json()["client_id"]


def authorize(server, client_id: str, redirect_uri: str = CLIENT_CALLBACK) -> str:
    query = httpx.QueryParams({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                               "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                               "code_challenge_method": "S256", "state": "s1"})
    return f"{server.base_url}/authorize?{query}"


async def test_a_self_named_app_is_marked_unverified_and_never_the_headline(server, chromium):
    claimed = "ChatGPT (OpenAI) - verified connector"
    page = await chromium.new_page()
    await page.set_viewport_size(PHONE)
    await page.goto(authorize(server, await register(server, claimed)))
    headline = await page.inner_text("h1")
    assert claimed not in headline and "ChatGPT" not in headline
    assert await page.inner_text("#client-name") == f"“{claimed}”"
    assert await page.inner_text("#identity-mark") == "Name not verified"
    assert await page.inner_text("#redirect-host") == "an app on this device (port 33418)"
    approve = await page.evaluate("getComputedStyle(document.getElementById('approve')).backgroundColor")
    deny = await page.evaluate("getComputedStyle(document.getElementById('deny')).backgroundColor")
    assert approve != deny  # Approve is the primary action, Deny the secondary one
    assert await check_page(page, "consent", "unverified-name") == []


@pytest.mark.parametrize("viewport", [SMALLEST, PHONE, DESKTOP], ids=["360", "390", "desktop"])
async def test_problem_pages_landing_and_sandbox_pages_are_accessible_and_fit_a_phone(server, chromium, viewport):
    page = await chromium.new_page()
    await page.set_viewport_size(viewport)
    pages = {
        "landing": f"{server.base_url}/",
        "unknown-client": authorize(server, "stale-client-id"),
        "expired-link": f"{server.base_url}/consent?transaction=expired",
        "sandbox-entra": f"{server.base_url}/sandbox/entra/",
        "consent": authorize(server, await register(server, "A client with a long name " * 4)),
    }
    for name, url in pages.items():
        response = await page.goto(url)
        assert response.headers["content-type"].startswith("text/html"), name
        assert await check_page(page, "page", name) == [], name
        if name in ("unknown-client", "expired-link"):
            assert await page.is_visible("#next-step"), name
            assert not page.url.startswith("http://127.0.0.1:33418")  # never redirected to the app


async def test_branding_from_settings_shows_the_organisation_logo_and_accent(chromium):
    with sandbox_server(branding_name="Contoso Sales", branding_logo_url="https://logo.contoso.example/logo.png",
                        branding_accent_color="#ffcc00") as branded:
        page = await chromium.new_page()
        logo_requests: list[str] = []

        async def logo(route) -> None:  # never the network: the logo is served here
            logo_requests.append(route.request.url)
            await route.fulfill(status=200, content_type="image/svg+xml",
                                body='<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40"/>')

        await page.route("https://logo.contoso.example/**", logo)
        await page.goto(authorize(branded, await register(branded, "Contoso assistant")))
        assert await page.inner_text("#brand-name") == "Contoso Sales"
        assert logo_requests == ["https://logo.contoso.example/logo.png"]
        colors = await page.evaluate("(() => { const s = getComputedStyle(document.getElementById('approve'));"
                                     " return [s.backgroundColor, s.color]; })()")
        assert colors == ["rgb(255, 204, 0)", "rgb(0, 0, 0)"]  # black text on a light accent: contrast kept
        assert await check_page(page, "consent", "branded") == []
