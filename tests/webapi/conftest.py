"""Shared fixtures for the Dataverse client tests: a scripted httpx transport and a client wired to it.

Helpers live on the `Harness` object the `harness` fixture builds, so test modules import nothing from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from dataverse.webapi import DataverseClient, RequestInfo, RetryPolicy, create_http_client

ENV = "https://contoso.crm.dynamics.com"
API = f"{ENV}/api/data/v9.2/"
API_PATH = "/api/data/v9.2/"

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class ScriptedTransport(httpx.MockTransport):
    """Answers each request with the next step of a script (a response, an exception to raise, or a handler).

    The last step repeats once the script runs out, so "always 503" is a one-step script.
    """

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@dataclass
class Harness:
    client: DataverseClient
    transport: ScriptedTransport
    sleeps: list[float] = field(default_factory=list)
    infos: list[RequestInfo] = field(default_factory=list)
    tokens_issued: int = 0

    @property
    def requests(self) -> list[httpx.Request]:
        return self.transport.requests

    @property
    def last(self) -> httpx.Request:
        return self.transport.requests[-1]

    def params(self, request: httpx.Request | None = None) -> list[tuple[str, str]]:
        """The last (or given) request's query parameters as a server splitting on & and = sees them, decoded."""
        raw = (request or self.last).url.raw_path.decode("ascii")
        if "?" not in raw:
            return []
        pairs = []
        for part in raw.split("?", 1)[1].split("&"):
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
        return pairs

    def path(self, request: httpx.Request | None = None) -> str:
        """The last (or given) request's raw path, without the query string."""
        return (request or self.last).url.raw_path.decode("ascii").split("?", 1)[0]


@pytest.fixture
def harness() -> Callable[..., Harness]:
    """`harness(*steps, budget_seconds=..., max_attempts=...)` -> a client whose retries sleep instantly."""

    def build(*steps: Step, budget_seconds: float = 20.0, max_attempts: int = 5, **client_options: Any) -> Harness:
        transport = ScriptedTransport(*steps)
        http = create_http_client(transport=transport)
        state = Harness(client=None, transport=transport)  # type: ignore[arg-type]

        async def sleep(seconds: float) -> None:
            state.sleeps.append(seconds)

        async def token_source() -> str:
            state.tokens_issued += 1
            return f"token-{state.tokens_issued}"

        policy = RetryPolicy(budget_seconds=budget_seconds, max_attempts=max_attempts, sleep=sleep, jitter=lambda: 0.5)
        client_options.setdefault("on_response", state.infos.append)
        state.client = DataverseClient(ENV, token_source, http=http, retry=policy, **client_options)
        return state

    return build
