"""Pages a person sees, in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser), axe-core
for accessibility, screenshots kept under test-artifacts/browser/ (gitignored).

`make test` installs all three on a fresh machine (apt chromium, npm axe-core into .tools/, pip playwright). A missing
piece FAILS these tests with the command that installs it; they never skip. Finding and launching them is
tests/browser_support.py's, shared with the widget tests.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext

from tests.browser_support import axe_violations
from tests.browser_support import chromium as browser_chromium
from tests.served_sandbox import SandboxServer, sandbox_server

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SMALLEST = {"width": 360, "height": 740}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with sandbox_server() as running:
        yield running


@pytest.fixture
async def chromium() -> AsyncIterator[BrowserContext]:
    """Headless Chromium in a fresh profile; pages bypass CSP only so that axe can be injected."""
    async with browser_chromium(bypass_csp=True, viewport=DESKTOP) as context:
        yield context


def artifact_name(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in parts) + ".png"


async def check_page(page, *parts: str) -> list[dict]:
    """Screenshot the page, then return its axe violations of serious or critical impact, and fail on a horizontal
    scroll. `parts` name the screenshot (test-artifacts/browser/<parts>.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    await page.screenshot(path=str(ARTIFACTS / artifact_name(*parts, str(width))), full_page=True)
    scroll = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], f"{'/'.join(parts)} scrolls sideways at {width} px: {scroll}"
    return await axe_violations(page.main_frame)
