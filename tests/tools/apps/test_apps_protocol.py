"""MCP Apps as a real client sees it: the full sandbox app over HTTP with the official MCP client.

- resources/list shows the four widgets as `text/html;profile=mcp-app`, each with a CSP whose domain lists are all
  empty, in the standard key and ChatGPT's, `prefersBorder`, and no `ui.domain`; resources/read serves the same on
  the content item, with a self-contained document under 50 KB;
- the tools that show their results in a widget declare it, and only those;
- the server advertises the extension on the 2025-11-25 `initialize` (the SDK alone drops it) and in
  `server/discover` (2026-07-28);
- a tool's result is the same whether or not the client says it supports Apps.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from dataverse.sandbox.users import ALICE
from dataverse.tools.apps import CARD_URI, CHART_URI, GRID_URI, TIMELINE_URI
from tests.e2e.harness import BASE_URL, E2E, payload, running_app

WIDGET_URIS = {CHART_URI, GRID_URI, CARD_URI, TIMELINE_URI}
DECLARED = {"run_report": CHART_URI, "query_records": GRID_URI, "get_record": CARD_URI}
EMPTY_CSP = {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []}
EMPTY_OPENAI_CSP = {"connect_domains": [], "resource_domains": [], "frame_domains": []}
MAX_WIDGET_BYTES = 50_000
APPS_CAPABILITY = {"mimeTypes": [APP_MIME_TYPE]}


@contextlib.asynccontextmanager
async def client_session(e2e: E2E, bearer: str, **session_options: Any) -> AsyncIterator[ClientSession]:
    """An official client session that has not shaken hands yet (the test chooses initialize or discover)."""
    client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=e2e.app), base_url=BASE_URL, timeout=30,
                                headers={"Authorization": f"Bearer {bearer}"})
    async with client, streamable_http_client(f"{BASE_URL}/mcp", http_client=client) as streams:
        async with ClientSession(streams[0], streams[1], **session_options) as session:
            yield session


def assert_widget_meta(meta: dict[str, Any] | None) -> None:
    assert meta is not None
    assert meta["ui"] == {"csp": EMPTY_CSP, "prefersBorder": True}  # and so no ui.domain
    assert meta["openai/widgetCSP"] == EMPTY_OPENAI_CSP
    assert meta["openai/widgetPrefersBorder"] is True


async def test_resources_list_shows_the_four_widgets_with_the_apps_mime_type_and_an_empty_csp():
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            resources = (await session.list_resources()).resources
    widgets = [resource for resource in resources if str(resource.uri).startswith("ui://")]
    assert {str(resource.uri) for resource in widgets} == WIDGET_URIS
    for resource in widgets:
        assert resource.mime_type == APP_MIME_TYPE
        assert resource.title and resource.description
        assert_widget_meta(resource.meta)


async def test_each_widget_is_one_self_contained_document_served_with_its_csp():
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            contents = {uri: (await session.read_resource(uri)).contents for uri in sorted(WIDGET_URIS)}
    environments = [url.rstrip("/") for url in e2e.settings.dataverse_urls]
    for uri, items in contents.items():
        assert len(items) == 1
        item = items[0]
        assert str(item.uri) == uri and item.mime_type == APP_MIME_TYPE
        assert_widget_meta(item.meta)
        html = item.text
        assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
        assert len(html.encode()) < MAX_WIDGET_BYTES, f"{uri} is {len(html.encode())} bytes"
        assert '<meta name="color-scheme" content="light dark">' in html
        for loader in ("<script src", "<link", "<img", "@import", "url(", "fetch(", "XMLHttpRequest", "WebSocket",
                       "EventSource", "window.open(", "/*@"):
            assert loader not in html, f"{uri} contains {loader!r}"
        for address in re.findall(r"https?://[^\"'\s<>]+", html):
            assert address.rstrip("\\/") in environments, f"{uri} names {address}"


async def test_the_tools_that_show_their_results_in_a_widget_declare_it():
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            tools = (await session.list_tools()).tools
    declared = {tool.name: tool.meta["ui"]["resourceUri"] for tool in tools if tool.meta and "ui" in tool.meta}
    assert declared == DECLARED
    for tool in tools:
        if tool.name in DECLARED:
            assert tool.meta == {"ui": {"resourceUri": DECLARED[tool.name]}}


async def test_initialize_advertises_the_apps_extension_on_the_2025_11_25_handshake():
    async with running_app() as e2e:
        async with client_session(e2e, await e2e.sign_in(ALICE)) as session:
            result = await session.initialize()
    assert result.protocol_version == "2025-11-25"
    assert result.capabilities.extensions == {EXTENSION_ID: APPS_CAPABILITY}
    assert result.capabilities.tools is not None and result.capabilities.resources is not None


async def test_server_discover_advertises_the_apps_extension_in_the_2026_07_28_era():
    async with running_app() as e2e:
        async with client_session(e2e, await e2e.sign_in(ALICE)) as session:
            discovered = await session.discover()
            resources = (await session.list_resources()).resources
    assert "2026-07-28" in discovered.supported_versions
    assert discovered.capabilities.extensions == {EXTENSION_ID: APPS_CAPABILITY}
    assert {str(resource.uri) for resource in resources} >= WIDGET_URIS


async def test_a_tool_result_is_the_same_whether_or_not_the_client_supports_apps():
    async with running_app() as e2e:
        bearer = await e2e.sign_in(ALICE)
        results = []
        for extensions in ({EXTENSION_ID: APPS_CAPABILITY}, None):
            async with client_session(e2e, bearer, extensions=extensions) as session:
                await session.initialize()
                record_id = payload(await session.call_tool("query_records", {"table": "account", "top": 1}))[
                    "rows"][0]["accountid"]
                calls = [("query_records", {"table": "account", "top": 3}),
                         ("get_record", {"table": "account", "id": record_id}),
                         ("run_report", {"name": "pipeline-by-stage"})]
                results.append([(await session.call_tool(name, arguments)).model_dump(mode="json", exclude={"meta"})
                                for name, arguments in calls])
    with_apps, without_apps = results
    assert with_apps == without_apps
    assert all(result["structured_content"] for result in with_apps)
