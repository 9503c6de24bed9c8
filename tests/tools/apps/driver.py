"""Drives one widget in the test host page (host.html) in headless Chromium: loads the widget's HTML as served by
resources/read, hands it a tool result, answers its tools/call by forwarding to the real MCP server, and checks what
every widget owes the host:

- the handshake in order (ui/initialize, then initialized, and nothing else before it) and size-changed within 500 px;
- no network request (the page is served from memory; any other request is refused and recorded) and no console
  error (CSP refusals show up there too);
- no axe violation of serious or critical impact, in the theme shown;
- no horizontal overflow of the document, at whatever width the page has (360 px included), and no "null",
  "undefined" or "NaN" on show.

Screenshots go to test-artifacts/widgets/.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Frame, Page

from tests.browser_support import PageWatch, axe_violations, chromium

HOST_URL = "http://host.test/"
HOST_HTML = Path(__file__).with_name("host.html").read_text(encoding="utf-8")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "widgets"
MAX_INLINE_HEIGHT = 500


@dataclass(frozen=True)
class Theme:
    name: str
    background: str  # the host page's, which shows through the transparent widget
    variables: dict[str, str] | None  # host CSS variables; None: the widget's own fallbacks


CLAUDE_LIKE_LIGHT = Theme("light", "#ffffff", {
    "--color-background-primary": "#ffffff", "--color-background-secondary": "#f5f4ed",
    "--color-text-primary": "#141413", "--color-text-secondary": "#5e5d59", "--color-border-primary": "#c2c0b6",
    "--font-sans": "system-ui, sans-serif", "--border-radius-md": "8px",
})
DARK_FALLBACKS = Theme("dark", "#262624", None)
DARK_HOST = Theme("dark", "#212121", {
    "--color-background-primary": "#212121", "--color-background-secondary": "#303030",
    "--color-text-primary": "#ececec", "--color-text-secondary": "#b4b4b4", "--color-border-primary": "#4e4e4e",
})
THEMES = (CLAUDE_LIKE_LIGHT, DARK_FALLBACKS)

ServerTool = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def without_structured_content(result: dict[str, Any]) -> dict[str, Any]:
    """The result as Claude Desktop may pass it on: content and isError only."""
    return {key: value for key, value in copy.deepcopy(result).items() if key in ("content", "isError")}


class WidgetPage:
    """One widget loaded in the test host page."""

    def __init__(self, page: Page, watch: PageWatch, theme: Theme) -> None:
        self.page = page
        self.watch = watch
        self.theme = theme

    @property
    def frame(self) -> Frame:
        frames = self.page.main_frame.child_frames
        assert len(frames) == 1, "the host holds exactly one widget frame"
        return frames[0]

    async def host_state(self, name: str) -> Any:
        return await self.page.evaluate(f"() => JSON.parse(JSON.stringify(host.{name}))")

    async def texts(self, selector: str) -> list[str]:
        return [text.strip() for text in await self.frame.locator(selector).all_inner_texts()]

    async def attribute(self, selector: str, name: str) -> list[str | None]:
        return [await element.get_attribute(name) for element in await self.frame.locator(selector).all()]

    async def wait_for(self, selector: str) -> None:
        await self.frame.locator(selector).first.wait_for(state="visible", timeout=10_000)

    async def settle(self) -> None:
        """Until the host has resized the frame to the widget's latest size (ResizeObserver runs after layout)."""
        await self.page.wait_for_timeout(100)
        await self.page.wait_for_function(
            "() => host.sizes.length > 0 && "
            "Math.abs(document.getElementById('widget').getBoundingClientRect().height - 2 - "
            "host.sizes[host.sizes.length - 1].height) < 1", timeout=5_000)

    async def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        await self.page.evaluate("([theme, variables, background]) => host.setTheme(theme, variables, background)",
                                 [theme.name, theme.variables, theme.background])
        await self.frame.wait_for_function("theme => document.documentElement.dataset.theme === theme",
                                           arg=theme.name)

    async def assert_well_behaved(self) -> None:
        """The host's rules, the network, the console and axe (see the module docstring)."""
        log = await self.host_state("log")
        from_widget = [entry["message"] for entry in log if entry["from"] == "widget"]
        assert from_widget[0]["method"] == "ui/initialize", from_widget[0]
        assert from_widget[1]["method"] == "ui/notifications/initialized", from_widget[1]
        violations = await self.host_state("violations")
        assert violations == [], violations
        sizes = await self.host_state("sizes")
        assert sizes, "the widget never sent ui/notifications/size-changed"
        assert all(0 < size["height"] <= MAX_INLINE_HEIGHT for size in sizes), sizes
        words = set((await self.frame.locator("body").inner_text()).split())
        assert not words & {"null", "undefined", "NaN", "[object"}, "the widget shows a JavaScript placeholder"
        document_height = await self.frame.evaluate("() => document.body.getBoundingClientRect().height")
        assert document_height <= MAX_INLINE_HEIGHT, f"the widget is {document_height} px tall inline"
        overflow = await self.frame.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the widget overflows its {await self.frame.evaluate('innerWidth')} px width"
        assert self.watch.refused == [], f"network requests: {self.watch.refused}"
        assert self.watch.console_errors == [], self.watch.console_errors
        # The widget is transparent: what shows through is the host's background, which axe cannot see across the
        # frame boundary, so it is painted in for the contrast check.
        await self.frame.evaluate("background => { document.documentElement.style.background = background; }",
                                  self.theme.background)
        try:
            found = await axe_violations(self.frame)
            assert found == [], f"axe ({self.theme.name}): {found}"
        finally:
            await self.frame.evaluate("() => { document.documentElement.style.background = ''; }")

    async def screenshot(self, name: str, directory: Path = ARTIFACTS) -> Path:
        path = directory / f"{name}.png"
        await self.page.locator("#widget").screenshot(path=str(path))  # Playwright makes the directory
        return path


@dataclass
class HostPage:
    """A browser with the host page; `open` loads one widget per page."""

    browser: BrowserContext
    html: str
    tool_name: str
    server_tool: ServerTool | None = None

    async def open(self, result: dict[str, Any], *, theme: Theme, tool_input: dict[str, Any],
                   width: int = 720) -> WidgetPage:
        page = await self.browser.new_page()
        await page.set_viewport_size({"width": width + 32, "height": 900})
        watch = await PageWatch.attach(page, {HOST_URL: HOST_HTML})
        server_tool = self.server_tool

        async def call_server_tool(params: dict[str, Any]) -> dict[str, Any]:
            if server_tool is None:
                raise AssertionError(f"the widget called a tool: {json.dumps(params)}")
            return await server_tool(params)

        await page.expose_function("callServerTool", call_server_tool)
        await page.goto(HOST_URL)
        await page.evaluate("config => host.load(config)", {
            "html": self.html, "theme": theme.name, "variables": theme.variables, "background": theme.background,
            "toolName": self.tool_name, "toolInput": tool_input, "toolResult": result,
        })
        return WidgetPage(page, watch, theme)


@contextlib.asynccontextmanager
async def widget_host(html: str, *, tool_name: str, server_tool: ServerTool | None = None) -> AsyncIterator[HostPage]:
    async with chromium(device_scale_factor=2) as browser:
        yield HostPage(browser, html, tool_name, server_tool)
