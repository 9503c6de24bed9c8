"""Fixtures for the sandbox Dataverse tests: a fresh seeded organisation per test, the app mounted at
/sandbox/dataverse as the main app mounts it, and httpx clients signed in as alice, bob or carol (ASGITransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sandbox_dataverse_support import BASE_URL, HOST, MOUNT, TODAY, token_for
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.users import ALICE, BOB, CAROL, SandboxUser


@pytest.fixture
def org() -> SandboxOrganization:
    return create_sandbox_organization(seed=7, today=TODAY)


@pytest.fixture
def app(org: SandboxOrganization) -> Starlette:
    inner = create_sandbox_dataverse_app(organization=org, base_url=BASE_URL,
                                         verify_token=sandbox_token_verifier(BASE_URL))
    return Starlette(routes=[Mount(MOUNT, app=inner)])


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HOST) as client:
        yield client


@pytest.fixture
async def client_as(app: Starlette) -> AsyncIterator[Callable[[SandboxUser], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(user: SandboxUser) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HOST,
                                   headers={"Authorization": f"Bearer {token_for(user)}"})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def alice(client_as) -> httpx.AsyncClient:
    return client_as(ALICE)


@pytest.fixture
def bob(client_as) -> httpx.AsyncClient:
    return client_as(BOB)


@pytest.fixture
def carol(client_as) -> httpx.AsyncClient:
    return client_as(CAROL)
