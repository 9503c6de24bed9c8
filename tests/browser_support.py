"""Headless Chromium for tests, shared by every browser test: Playwright drives Debian's chromium (never a browser it
downloads), in a fresh profile, with the network closed except for the documents a test serves itself; axe-core checks
accessibility.

    async with chromium(viewport={"width": 800, "height": 600}) as browser:
        page = await browser.new_page()
        watch = await PageWatch.attach(page, {"http://host.test/": html})   # serves these, refuses every other request
        await page.goto("http://host.test/")
        ...
        assert watch.refused == [] and watch.console_errors == []
        assert await axe_violations(page.main_frame) == []                 # serious and critical impact

`make browser` (a prerequisite of `make test`) installs what this needs: `apt-get install chromium` when
/usr/bin/chromium is missing, Playwright from requirements-dev.txt, and `npm install --prefix .tools axe-core`.
$CHROMIUM_PATH and $AXE_CORE_JS point elsewhere (`make test` sets both).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, ConsoleMessage, Frame, Page, Route, async_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_AXE = REPO_ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run")
SERIOUS = ("serious", "critical")


class BrowserToolMissingError(RuntimeError):
    """Chromium or axe-core is not installed where the tests look for it."""


def find_chromium() -> Path:
    path = Path(os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise BrowserToolMissingError(f"chromium not found at {path}: run `make browser` (apt-get install chromium) "
                                      "or set CHROMIUM_PATH.")
    return path


@cache
def axe_source() -> str:
    path = Path(os.environ.get("AXE_CORE_JS") or DEFAULT_AXE)
    if not path.is_file():
        raise BrowserToolMissingError(f"axe-core not found at {path}: run `make browser` (npm install --prefix .tools "
                                      "axe-core) or set AXE_CORE_JS.")
    return path.read_text(encoding="utf-8")


@contextlib.asynccontextmanager
async def chromium(**context_options: Any) -> AsyncIterator[BrowserContext]:
    """A browser context in a fresh profile of headless Chromium; options as Playwright's `new_context` takes them."""
    executable = find_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=str(executable), headless=True, args=list(CHROMIUM_FLAGS), **context_options)
            try:
                yield context
            finally:
                await context.close()


@dataclass
class PageWatch:
    """What a page did that a test must see: requests it was refused (anything but the served documents) and
    console errors or uncaught exceptions, from any of its frames."""

    documents: Mapping[str, tuple[str, str]]  # url -> (content type, body)
    refused: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    @classmethod
    async def attach(cls, page: Page, documents: Mapping[str, str]) -> PageWatch:
        """Serve `documents` (url -> HTML) to `page` and refuse every other request it makes."""
        watch = cls({url: ("text/html; charset=utf-8", body) for url, body in documents.items()})
        await page.route("**/*", watch._answer)
        page.on("console", watch._console)
        page.on("pageerror", lambda error: watch.console_errors.append(f"uncaught: {error}"))
        return watch

    async def _answer(self, route: Route) -> None:
        url = route.request.url
        if url in self.documents:
            content_type, body = self.documents[url]
            await route.fulfill(status=200, content_type=content_type, body=body)
        else:
            self.refused.append(f"{route.request.method} {url}")
            await route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


async def axe_violations(frame: Frame, *, impacts: Sequence[str] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's violations of the given impacts in `frame`'s document, each as {id, impact, help, targets}."""
    if not await frame.evaluate("() => typeof window.axe === 'object'"):
        await frame.evaluate(axe_source())
    results = await frame.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": violation["id"], "impact": violation["impact"], "help": violation["help"],
             "targets": [node["target"] for node in violation["nodes"]]}
            for violation in results["violations"] if violation["impact"] in impacts]
