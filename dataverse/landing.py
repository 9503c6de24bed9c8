"""GET /: the deployment's landing page, for a person who opens the server's address in a browser.

It says what this is, gives the MCP URL to paste into a client, how to connect ChatGPT, Claude and VS Code, and
whether the server is healthy right now (the same storage check as /health). It shows nothing a client could not
learn from the discovery documents.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from dataverse.oauth.page_shell import Branding, render_page
from dataverse.settings import Settings
from dataverse.storage.protocol import Store

logger = logging.getLogger(__name__)


def _health_line(healthy: bool) -> str:
    if healthy:
        return '<p id="health"><strong>Status: working.</strong> Details: <a href="/health">/health</a>.</p>'
    return ('<p id="health"><strong>Status: degraded</strong> (storage is not answering); sign-in and tools may fail '
            'until it recovers. Details: <a href="/health">/health</a>.</p>')


def landing_body(settings: Settings, branding: Branding, *, healthy: bool) -> str:
    esc = html.escape
    mcp_url = esc(settings.mcp_url)
    environments = ", ".join(settings.dataverse_urls) or "the built-in sandbox"
    who = esc(branding.name) if branding.name else "your organisation"
    return (
        "<h1>Dataverse for ChatGPT, Claude and other AI assistants</h1>"
        f"<p>This server lets AI assistants read and change {who}'s Microsoft Dataverse (Dynamics 365) data as the "
        "signed-in person: each user signs in with their own work account, and Dataverse security roles decide "
        f'what the assistant can see and do. Environment: <span class="wrap" id="environments">'
        f"{esc(environments)}</span>.</p>"
        '<h2 id="mcp-url-heading">MCP server URL</h2>'
        f'<p><code id="mcp-url">{mcp_url}</code></p>'
        "<p class=\"muted\">No client id, secret or API key is needed: the assistant registers itself, then you "
        "approve access and sign in.</p>"
        "<h2>Connect ChatGPT</h2><p>Settings → Apps &amp; Connectors → Create (developer mode on). Paste the MCP URL, "
        "choose OAuth authentication, then approve and sign in. A workspace admin can publish it for everyone.</p>"
        "<h2>Connect Claude</h2><p>Settings → Connectors → Add custom connector. Paste the MCP URL, leave the "
        "advanced settings empty, then Connect, approve and sign in. Claude Code: "
        f"<code>claude mcp add --transport http dataverse {mcp_url}</code>.</p>"
        "<h2>Connect VS Code</h2><p>Add a server of type <code>http</code> with this URL in "
        "<code>.vscode/mcp.json</code> (or run “MCP: Add Server”), start it, allow authentication, approve and "
        "sign in.</p>"
        f"<h2>Health</h2>{_health_line(healthy)}"
    )


def landing_endpoint(settings: Settings, branding: Branding, store: Store) -> Callable[[Request], Awaitable[Response]]:
    async def landing(_: Request) -> Response:
        try:
            await store.ping()
            healthy = True
        except Exception:
            logger.warning("landing page: storage unreachable", exc_info=True)
            healthy = False
        return render_page(branding, title="Dataverse MCP server", body=landing_body(settings, branding,
                                                                                    healthy=healthy))

    return landing
