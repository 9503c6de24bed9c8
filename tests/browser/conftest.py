"""Pages a person sees, in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser), axe-core
for accessibility, screenshots kept under test-artifacts/browser/ (gitignored).

`make test` installs all three on a fresh machine (apt chromium, npm axe-core into .tools/, pip playwright). A missing
piece FAILS these tests with the command that installs it; they never skip. Paths: $CHROMIUM_PATH (default
/usr/bin/chromium) and $AXE_CORE_JS (default .tools/node_modules/axe-core/axe.min.js, or beside $AZURITE_TABLE_BIN's
node_modules when the tools live in another checkout).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataverse.sandbox.runtime import SandboxRuntime, create_sandbox_runtime
from dataverse.settings import Settings
from tests.oauth.conftest import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SMALLEST = {"width": 360, "height": 740}
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(f"Chromium not found at {path}: run `make browser` (apt-get install chromium) or set "
                    "CHROMIUM_PATH", pytrace=False)
    return path


def axe_script() -> Path:
    candidates = [os.environ.get("AXE_CORE_JS", ""), str(REPO_ROOT / ".tools/node_modules/axe-core/axe.min.js")]
    azurite = os.environ.get("AZURITE_TABLE_BIN", "")
    if azurite:
        candidates.append(str(Path(azurite).parents[1] / "axe-core" / "axe.min.js"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail("axe-core not found: run `make browser` (npm install --prefix .tools axe-core@4.14.1) or set "
                "AXE_CORE_JS", pytrace=False)


@dataclass
class SandboxServer:
    base_url: str
    runtime: SandboxRuntime

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@contextlib.contextmanager
def sandbox_server(**settings: object) -> Iterator[SandboxServer]:
    """The whole app in sandbox mode, as `make run` serves it, over loopback HTTP."""
    built: dict[str, SandboxRuntime] = {}

    def build(base_url: str):
        built["runtime"] = create_sandbox_runtime(Settings(public_base_url=base_url, **settings))
        return built["runtime"].build_app()

    with serve(build) as base_url:
        yield SandboxServer(base_url, built["runtime"])


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with sandbox_server() as running:
        yield running


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    """A Chromium browser with a fresh user-data directory; pages bypass CSP only so that axe can be injected."""
    from playwright.async_api import async_playwright

    executable = chromium_path()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=executable, headless=True, args=CHROMIUM_FLAGS, bypass_csp=True,
                viewport=DESKTOP,
            )
            try:
                yield context
            finally:
                await context.close()


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
    await page.add_script_tag(path=str(axe_script()))
    results = await page.evaluate("async () => (await axe.run(document)).violations")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in results if v["impact"] in BLOCKING_IMPACTS]
