"""In-process fixtures for the sandbox Entra: the app mounted at /sandbox/entra as the main app mounts it, reached
through httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sandbox_entra_support import BASE_URL, REDIRECT_URI
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.sandbox.entra import SANDBOX_ENTRA_MOUNT_PATH, SandboxAppRegistry, create_sandbox_entra_app


@pytest.fixture
def registry() -> SandboxAppRegistry:
    return SandboxAppRegistry.create_default(redirect_uris=[REDIRECT_URI])


@pytest.fixture
async def entra(registry: SandboxAppRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Mount(SANDBOX_ENTRA_MOUNT_PATH,
                                  app=create_sandbox_entra_app(public_base_url=BASE_URL, registry=registry))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client
