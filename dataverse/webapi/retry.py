"""Sending one logical request with retries: the retry policy, the per-attempt telemetry record, and the loop.

Rules (Dataverse service protection and duplicate-safety):
- Only idempotent requests are retried: GET, a POST that only reads (search), and PATCH with If-Match. A create
  (POST) and a DELETE never are: after a lost answer a retried DELETE meets 404 and cannot tell what happened.
- 429 waits for Retry-After; 502/503/504, timeouts and dropped connections back off exponentially with jitter.
  All waits together stay within `RetryPolicy.budget_seconds`; a wait that would overrun it raises at once.
- 401 and other 4xx are never retried.
- A non-idempotent request that fails after it was sent (5xx, read timeout, connection dropped) raises
  OutcomeUnknownError; one that fails before it was sent (could not connect) says nothing was changed.
- If a retried write meets 404/412 after an earlier attempt may have been applied, that too is OutcomeUnknownError.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx

from .errors import (
    DataverseConnectionError,
    DataverseError,
    DataverseTimeoutError,
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    error_from_response,
    get_request_id,
    parse_retry_after,
)

logger = logging.getLogger(__name__)
RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often one request may be retried. Build it from settings with
    `RetryPolicy(budget_seconds=settings.dataverse_retry_budget_seconds)`; 0 means never wait, so never retry."""

    budget_seconds: float = 20.0  # total time spent waiting across retries
    max_attempts: int = 5
    base_backoff_seconds: float = 0.5
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # injectable for tests
    max_backoff_seconds: float = 8.0
    jitter: Callable[[], float] = random.random  # returns [0, 1); injectable for tests

    def __post_init__(self) -> None:
        for name in ("budget_seconds", "base_backoff_seconds", "max_backoff_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a finite number of seconds, 0 or more, not {value!r}")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be a whole number of at least 1, not {self.max_attempts!r}")

    def backoff(self, retry_number: int) -> float:
        """Seconds before retry `retry_number` (1 = the first retry): exponential, capped, with half jitter."""
        ceiling = min(self.max_backoff_seconds, self.base_backoff_seconds * 2.0 ** (retry_number - 1))
        return ceiling * (0.5 + 0.5 * self.jitter())


@dataclass(frozen=True)
class RequestInfo:
    """One attempt at one request, for telemetry and request counting (passed to the `on_response` hook)."""

    method: str
    path: str  # URL path without the query string (query values can hold personal data)
    status: int | None  # None when no response arrived
    request_id: str | None
    duration_seconds: float
    attempt: int
    rate_limit: Mapping[str, str] = field(default_factory=dict)  # x-ms-ratelimit-* response headers
    error: str | None = None  # the transport exception's type name when no response arrived


OnResponse = Callable[[RequestInfo], None]


async def send_with_retries(
    http: httpx.AsyncClient,
    build_request: Callable[[], Awaitable[httpx.Request]],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    on_response: OnResponse | None = None,
    outcome_hint: str = "Check whether it took effect before repeating it.",
    accept: Callable[[httpx.Response], bool] | None = None,
) -> httpx.Response:
    """Send until success or a final error; returns the successful (status < 300) response, or one `accept` takes
    (a `$batch` answers 400 with a multipart body that reports each operation)."""
    waited = 0.0
    possibly_applied = False
    for attempt in range(1, policy.max_attempts + 1):
        request = await build_request()
        label = f"{request.method} {request.url.path}"
        started = time.perf_counter()
        try:
            response = await http.send(request)
        except httpx.TransportError as error:
            _report(on_response, request, None, started, attempt, error)
            sent = _was_sent(error)
            if not idempotent:
                if sent:
                    raise OutcomeUnknownError(
                        f"{label} was sent but {_transport_failure(error)}: it may or may not have been applied. "
                        f"{outcome_hint}"
                    ) from error
                raise _transport_error(error, f"{label} could not be sent; nothing was changed") from error
            possibly_applied = possibly_applied or (sent and request.method != "GET")
            failure: DataverseError = _transport_error(error, f"{label} failed")
            delay = policy.backoff(attempt)
        else:
            _report(on_response, request, response, started, attempt, None)
            status = response.status_code
            if status < 300 or (accept is not None and accept(response)):
                return response
            failure = error_from_response(response)
            if possibly_applied and status in (404, 412):
                raise OutcomeUnknownError(
                    f"{label}: an earlier attempt may already have been applied (a retry now gets HTTP {status}). "
                    f"{outcome_hint}",
                    status=status,
                    code=failure.code,
                    request_id=failure.request_id,
                )
            if status == 429:
                retry_after = parse_retry_after(response)
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                failure = ThrottledError(
                    failure.message, retry_after=delay, status=status, code=failure.code, request_id=failure.request_id
                )
                if not idempotent:
                    raise failure
            elif status in RETRYABLE_STATUSES:
                if not idempotent:
                    raise OutcomeUnknownError(
                        f"{label} got HTTP {status} ({failure.message}) after it was sent: it may or may not have "
                        f"been applied. {outcome_hint}",
                        status=status,
                        code=failure.code,
                        request_id=failure.request_id,
                    )
                possibly_applied = possibly_applied or request.method != "GET"
                delay = policy.backoff(attempt)
            elif status >= 500 and not idempotent:
                raise OutcomeUnknownError(
                    f"{label} got HTTP {status} ({failure.message}): it may or may not have been applied. "
                    f"{outcome_hint}",
                    status=status,
                    code=failure.code,
                    request_id=failure.request_id,
                )
            else:
                raise failure
        if attempt >= policy.max_attempts or waited + delay > policy.budget_seconds:
            raise _gave_up(failure, attempt)
        logger.info("retrying %s in %.2f s after %s (attempt %d)", label, delay, failure, attempt)
        await policy.sleep(delay)
        waited += delay
    raise AssertionError("unreachable: the loop always returns or raises")  # pragma: no cover


def _was_sent(error: httpx.TransportError) -> bool:
    """False only when the request certainly never left: no connection, or no free connection in the pool."""
    never_sent = httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol
    return not isinstance(error, never_sent)


def _transport_failure(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "no answer came in time"
    return f"the connection failed ({type(error).__name__})"


def _transport_error(error: httpx.TransportError, context: str) -> DataverseError:
    if isinstance(error, httpx.TimeoutException):
        return DataverseTimeoutError(f"{context}: Dataverse did not answer in time ({type(error).__name__})")
    return DataverseConnectionError(f"{context}: could not reach Dataverse ({type(error).__name__}: {error})")


def _gave_up(failure: DataverseError, attempts: int) -> DataverseError:
    """The final error, saying how many attempts were made (ThrottledError keeps its retry-after)."""
    note = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(failure, ThrottledError):
        return ThrottledError(
            f"{failure.detail}; {note}" if failure.detail else note,
            retry_after=failure.retry_after,
            status=failure.status,
            code=failure.code,
            request_id=failure.request_id,
        )
    if isinstance(failure, ServerError | DataverseTimeoutError | DataverseConnectionError):
        return type(failure)(
            f"{failure.message}; {note}", status=failure.status, code=failure.code, request_id=failure.request_id
        )
    return failure


def _report(
    on_response: OnResponse | None,
    request: httpx.Request,
    response: httpx.Response | None,
    started: float,
    attempt: int,
    error: Exception | None,
) -> None:
    if on_response is None:
        return
    try:
        on_response(
            RequestInfo(
                method=request.method,
                path=request.url.path,
                status=response.status_code if response is not None else None,
                request_id=get_request_id(response) if response is not None else None,
                duration_seconds=time.perf_counter() - started,
                attempt=attempt,
                rate_limit={k: v for k, v in response.headers.items() if k.startswith("x-ms-ratelimit-")}
                if response is not None
                else {},
                error=type(error).__name__ if error is not None else None,
            )
        )
    except Exception:  # telemetry must never break a request
        logger.exception("on_response hook failed")
