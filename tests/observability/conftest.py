"""Fixtures for the telemetry and audit tests: an in-memory OpenTelemetry exporter on the global tracer provider, the
sandbox Dataverse served in-process, and callers' MCP access tokens built from real sandbox JWTs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from mcp.server.auth.provider import AccessToken
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.identity import mint_user_token, process_signing_key
from dataverse.sandbox.users import SandboxUser
from dataverse.webapi import DataverseClient, RetryPolicy, create_http_client
from dataverse.webapi.retry import OnResponse

MOUNT = "/sandbox/dataverse"
ENVIRONMENT_URL = "https://sandbox.crm.example.com" + MOUNT
ISSUER = "https://login.sandbox.test/t/v2.0"
MCP_RESOURCE = "https://mcp.example.com/mcp"


@pytest.fixture(scope="session")
def _global_span_exporter() -> InMemorySpanExporter:
    """The process's tracer provider (installed once; OpenTelemetry allows one) with an in-memory exporter added."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(_global_span_exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    _global_span_exporter.clear()
    return _global_span_exporter


@dataclass
class Sandbox:
    organization: SandboxOrganization
    http: httpx.AsyncClient

    def client_as(self, user: SandboxUser, *, on_response: OnResponse | None = None) -> DataverseClient:
        token = mint_user_token(user, audience=ENVIRONMENT_URL, issuer=ISSUER, scopes=["user_impersonation"],
                                client_id="observability-tests")

        async def token_source() -> str:
            return token

        async def no_sleep(seconds: float) -> None:
            return None

        policy = RetryPolicy(sleep=no_sleep, jitter=lambda: 0.0)
        return DataverseClient(ENVIRONMENT_URL, token_source, http=self.http, retry=policy, on_response=on_response)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    organization = create_sandbox_organization(today=date(2026, 3, 12))
    inner = create_sandbox_dataverse_app(
        organization=organization, base_url=ENVIRONMENT_URL, verify_token=sandbox_token_verifier(ENVIRONMENT_URL)
    )
    app = Starlette(routes=[Mount(MOUNT, app=inner)])
    async with create_http_client(transport=httpx.ASGITransport(app=app)) as http:
        yield Sandbox(organization, http)


@pytest.fixture
def access_token_for() -> Callable[[SandboxUser], AccessToken]:
    """The MCP AccessToken a verified bearer yields for a user: subject = oid, claims carry the upn."""

    def build(user: SandboxUser) -> AccessToken:
        jwt = mint_user_token(user, audience=MCP_RESOURCE, issuer=ISSUER, scopes=["MCP.Access"],
                              client_id="chatgpt-connector-client")
        claims = process_signing_key().verify(jwt, audience=MCP_RESOURCE)
        return AccessToken(
            token=jwt,
            client_id=str(claims["azp"]),
            scopes=str(claims["scp"]).split(),
            expires_at=int(claims["exp"]),
            resource=MCP_RESOURCE,
            subject=str(claims["oid"]),
            claims={key: claims.get(key) for key in ("upn", "name", "tid", "iss")},
        )

    return build
