"""The whole app in sandbox mode, as `make run` serves it, on a loopback port: for tests that need real HTTP (a
browser, the official client's OAuth flow).

    with sandbox_server(branding_name="Contoso Sales") as server:
        ...   # server.mcp_url, server.runtime.organization
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from dataverse.sandbox.runtime import SandboxRuntime, create_sandbox_runtime
from dataverse.settings import Settings
from tests.oauth.conftest import serve


@dataclass
class SandboxServer:
    base_url: str
    runtime: SandboxRuntime

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@contextlib.contextmanager
def sandbox_server(**settings: object) -> Iterator[SandboxServer]:
    """Serve the sandbox app (settings as keyword overrides) until the block exits."""
    built: dict[str, SandboxRuntime] = {}

    def build(base_url: str):
        built["runtime"] = create_sandbox_runtime(Settings(public_base_url=base_url, **settings))
        return built["runtime"].build_app()

    with serve(build) as base_url:
        yield SandboxServer(base_url, built["runtime"])
