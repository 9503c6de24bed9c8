"""The MCP Apps extension as this server offers it: the SDK's `Apps` with every widget registered as a
`text/html;profile=mcp-app` resource, and its capability advertised with the MIME type it serves.

Every widget gets the same metadata, on the resources/list entry and on the resources/read content item:
- a CSP with every domain list empty (the widget loads and connects to nothing), both as `_meta.ui.csp` and as
  ChatGPT's `openai/widgetCSP`, which ChatGPT reads instead;
- `prefersBorder` (and ChatGPT's mirror of it);
- no `ui.domain`: Claude checks it against the exact connector URL, and leaving it out is safe there.
"""

from __future__ import annotations

from typing import Any

from mcp.server.apps import APP_MIME_TYPE, Apps
from mcp.server.mcpserver.resources import TextResource

from dataverse.tools.apps.templates import render_widget
from dataverse.tools.apps.widgets import WIDGETS

APPS_SETTINGS: dict[str, Any] = {"mimeTypes": [APP_MIME_TYPE]}
NO_DOMAINS_CSP: dict[str, list[str]] = {
    "connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []}
NO_DOMAINS_OPENAI_CSP: dict[str, list[str]] = {"connect_domains": [], "resource_domains": [], "frame_domains": []}


def widget_resource_meta() -> dict[str, Any]:
    """The `_meta` every widget resource carries (fresh each call: the SDK may keep the dict it is given)."""
    return {
        "ui": {"csp": dict(NO_DOMAINS_CSP), "prefersBorder": True},
        "openai/widgetCSP": dict(NO_DOMAINS_OPENAI_CSP),
        "openai/widgetPrefersBorder": True,
    }


class DataverseApps(Apps):
    """The SDK's Apps extension, advertising the MIME type it serves (the SDK would advertise `{}`)."""

    def settings(self) -> dict[str, Any]:
        return {key: list(value) for key, value in APPS_SETTINGS.items()}


def apps_extension(environments: list[str]) -> DataverseApps:
    """The extension with every widget; `environments` are the Dataverse URLs its record links may open."""
    apps = DataverseApps()
    for widget in WIDGETS:
        apps.add_resource(TextResource(
            uri=widget.uri, name=widget.name, title=widget.title, description=widget.description,
            mime_type=APP_MIME_TYPE, meta=widget_resource_meta(),
            text=render_widget(widget.template, environments=environments),
        ))
    return apps
