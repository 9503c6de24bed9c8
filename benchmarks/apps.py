"""The systems under measurement, built the way production builds them:

- the full app: `dataverse.app.build_app` over the sandbox runtime (bearer check, tools, shaping, Dataverse client,
  the in-process sandbox Dataverse behind an httpx.ASGITransport);
- the SDK floor: a bare MCPServer with one tool returning a constant, served as the same stateless JSON streamable
  HTTP app;
- the direct call: the same Dataverse query made with DataverseClient against the same sandbox transport.

Also the raw JSON-RPC POST helpers both MCP apps are driven with.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from dataverse.sandbox.lifespan import run_lifespan as lifespan

PROTOCOL_VERSION = "2025-06-18"
BASE_URL = "http://127.0.0.1:7071"
QUERY_ARGUMENTS = {"table": "account", "select": ["name"], "top": 10}
_ids = itertools.count(1)


def mcp_headers(token: str | None = None) -> dict[str, str]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": PROTOCOL_VERSION,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def tools_call_body(name: str, arguments: dict[str, Any]) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    ).encode()


def tool_payload(response: httpx.Response) -> dict[str, Any]:
    """The structured result of a successful tools/call response; raises if the call failed."""
    response.raise_for_status()
    message = response.json()
    if "error" in message:
        raise RuntimeError(f"JSON-RPC error: {message['error']}")
    result = message["result"]
    if result.get("isError"):
        raise RuntimeError(f"tool error: {result['content'][0]['text']}")
    return result.get("structuredContent") or json.loads(result["content"][0]["text"])


class CountingProxy:
    """Wraps an object and counts calls to its async methods (each one a round trip: storage or Entra)."""

    def __init__(self, target: Any, counter: dict[str, int], *, prefix: str = "") -> None:
        self._target, self._counter, self._prefix = target, counter, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or name.startswith("_"):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if name == "collection":  # a store hands out collections; count their operations too
                return CountingProxy(result, self._counter, prefix=f"{args[0] if args else ''}.")
            if inspect.isawaitable(result):
                key = f"{self._prefix}{name}"
                self._counter[key] = self._counter.get(key, 0) + 1
            return result

        return counted


@dataclass
class FullApp:
    app: Any
    runtime: Any
    token: str = ""  # set by sign_in(): an access token from the app's own OAuth flow
    outbound: dict[str, int] = field(default_factory=dict)  # requests the pooled Dataverse client sent, by kind
    store_operations: dict[str, int] = field(default_factory=dict)
    entra_operations: dict[str, int] = field(default_factory=dict)

    def reset_counts(self) -> None:
        self.runtime.organization.stats.reset()
        for counter in (self.outbound, self.store_operations, self.entra_operations):
            counter.clear()

    async def sign_in(self, client: httpx.AsyncClient | None = None) -> str:
        from dataverse.sandbox.users import ALICE

        self.token = await self.runtime.sign_in(self.app, ALICE, client=client)
        return self.token

    async def seed_session(self) -> str:
        """Alice's session written straight into the store, as her sign-in on another instance would have left it: a
        grant holding an Entra token for our API, and our access token for it. Unlike `sign_in()`, it calls nothing
        and imports nothing (no MSAL), so a cold-start child measures the first call a fresh instance really serves."""
        from dataverse.oauth.crypto import TokenCipher, derive_key, new_secret, parse_master_key
        from dataverse.oauth.models import Grant, UpstreamTokenSet
        from dataverse.oauth.repository import OAuthRepository
        from dataverse.oauth.tokens import TokenService
        from dataverse.sandbox.entra import SANDBOX_CLIENT_ID
        from dataverse.sandbox.entra.context import ENTRA_AUTHORITY_HOST
        from dataverse.sandbox.identity import mint_user_token
        from dataverse.sandbox.users import ALICE, SANDBOX_TENANT_ID

        settings, now = self.runtime.settings, time.time()
        master_key = parse_master_key(settings.token_encryption_key, allow_ephemeral=False)
        cipher = TokenCipher(derive_key(master_key, "upstream-tokens"))
        upstream = UpstreamTokenSet(
            access_token=mint_user_token(ALICE, audience=f"api://{SANDBOX_CLIENT_ID}", client_id=SANDBOX_CLIENT_ID,
                                         issuer=f"{ENTRA_AUTHORITY_HOST}/{SANDBOX_TENANT_ID}/v2.0",
                                         scopes=[settings.mcp_scope]),
            refresh_token=None, expires_at=now + 3600, scope=settings.mcp_scope,
        )
        grant_id = new_secret("grant")
        grant = Grant(subject=ALICE.object_id, upn=ALICE.upn, name=ALICE.full_name, tid=SANDBOX_TENANT_ID,
                      client_id="benchmark-connector", scopes=[settings.mcp_scope], resource=settings.mcp_url,
                      upstream=cipher.encrypt_json(upstream.model_dump(), associated_data=grant_id),
                      created_at=now, expires_at=now + settings.refresh_token_ttl_seconds)
        repository = OAuthRepository(self.runtime.deps.store)
        await repository.grants.create(grant_id, grant, expires_at=grant.expires_at)
        tokens = TokenService(repository, issuer=settings.public_base_url,
                              access_token_ttl_seconds=settings.access_token_ttl_seconds,
                              refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds)
        self.token = (await tokens.issue_tokens(grant_id, grant, scopes=[settings.mcp_scope])).access_token
        return self.token


def _classify(request: httpx.Request) -> str:
    return "dataverse" if "/api/data/" in request.url.path else "other"


def create_full_app(*, latency_ms: float = 0.0, base_url: str = BASE_URL) -> FullApp:
    """The production app over the sandbox (OAuth proxy, OBO through the in-process sandbox Entra, memory store), with
    the store and the Entra client wrapped in counting proxies. Call `sign_in()` (app running) for a bearer."""
    from dataverse.sandbox.runtime import create_sandbox_runtime
    from dataverse.settings import Settings
    from dataverse.storage.memory import MemoryStore

    store_operations: dict[str, int] = {}
    entra_operations: dict[str, int] = {}
    runtime = create_sandbox_runtime(Settings(public_base_url=base_url),
                                     store=CountingProxy(MemoryStore(), store_operations))
    runtime.organization.faults.latency_ms = latency_ms
    if runtime.deps.entra is not None:
        runtime.deps = dataclasses.replace(runtime.deps, entra=CountingProxy(runtime.deps.entra, entra_operations))
    outbound: dict[str, int] = {}

    async def count_request(request: httpx.Request) -> None:
        kind = _classify(request)
        outbound[kind] = outbound.get(kind, 0) + 1

    if runtime.deps.http is not None:
        runtime.deps.http.event_hooks["request"].append(count_request)
    return FullApp(app=runtime.build_app(), runtime=runtime, outbound=outbound, store_operations=store_operations,
                   entra_operations=entra_operations)


def create_floor_app() -> Any:
    """The SDK floor: a bare MCPServer tool returning a constant, stateless JSON streamable HTTP."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

    server = MCPServer("floor")

    @server.tool()
    def constant() -> dict[str, str]:
        """Returns a constant."""
        return {"answer": "42"}

    @server.tool()
    async def wait(ms: float) -> dict[str, str]:
        """Sleeps `ms` milliseconds (the floor's stand-in for a Dataverse call with latency), then answers."""
        await asyncio.sleep(ms / 1000)
        return {"answer": "42"}

    return server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,
        stateless_http=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "127.0.0.1", "localhost"],
            allowed_origins=["http://127.0.0.1:*"],
        ),
    )


def create_direct_client(full: FullApp) -> Any:
    """A DataverseClient over the app's pooled client, with a sandbox Dataverse token for Alice (what OBO yields)."""
    from dataverse.sandbox.identity import mint_user_token
    from dataverse.sandbox.users import ALICE
    from dataverse.webapi.client import DataverseClient

    token = mint_user_token(ALICE, audience=full.runtime.dataverse_url, issuer="https://login.sandbox.example/v2.0",
                            scopes=["user_impersonation"], client_id="benchmarks")

    async def token_source() -> str:
        return token

    return DataverseClient(full.runtime.dataverse_url, token_source, http=full.runtime.deps.http)


def create_direct_query(full: FullApp) -> Callable[[], Any]:
    """The same Dataverse query query_records makes, sent with DataverseClient over the same pooled client."""
    client = create_direct_client(full)

    async def direct() -> Any:
        return await client.query("accounts", select=["name"], page_size=QUERY_ARGUMENTS["top"])

    return direct


@contextlib.asynccontextmanager
async def serving(app: Any, *, base_url: str = BASE_URL) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and yield an httpx client bound to it through ASGITransport (no sockets)."""
    async with lifespan(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=60) as client:
            yield client
