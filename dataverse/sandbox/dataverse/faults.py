"""Fault injection and request counting for the sandbox Dataverse, for tests and benchmarks.

A `FaultPlan` (settable in process, or over HTTP with `POST /sandbox-control/faults`) adds latency, answers the next N
requests with 429 + Retry-After (service protection, 0x80072322), with a 5xx (optionally only for one method), or hangs
them for a while before answering. `RequestStats` counts every /api request by method and path.

Control route body (every key optional; `{"reset": true}` clears the plan first):
    {"latency_ms": 20,
     "throttle": {"count": 2, "retry_after": 1},
     "server_error": {"count": 1, "status": 503, "method": "POST"},
     "hang": {"count": 1, "seconds": 5}}
`GET /sandbox-control/faults` shows the plan; `GET /sandbox-control/stats` the counts; `DELETE` on either resets it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

THROTTLE_MESSAGE = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
SERVER_ERROR_MESSAGES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                         504: "Gateway Timeout"}


@dataclass
class InjectedFault:
    """What the app must answer instead of the real response."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FaultPlan:
    latency_ms: int = 0
    throttle_count: int = 0
    retry_after_seconds: int = 1
    error_count: int = 0
    error_status: int = 503
    error_method: str | None = None
    hang_count: int = 0
    hang_seconds: float = 0.0

    def reset(self) -> None:
        for name, value in asdict(FaultPlan()).items():
            setattr(self, name, value)

    def update(self, *, latency_ms: int | None = None, throttle: dict[str, Any] | None = None,
               server_error: dict[str, Any] | None = None, hang: dict[str, Any] | None = None) -> None:
        """Apply a control-route style change; raises ValueError on a bad value."""
        if latency_ms is not None:
            self.latency_ms = _non_negative(int(latency_ms), "latency_ms")
        if throttle is not None:
            self.throttle_count = _non_negative(int(throttle.get("count", 1)), "throttle.count")
            self.retry_after_seconds = _non_negative(int(throttle.get("retry_after", 1)), "throttle.retry_after")
        if server_error is not None:
            status = int(server_error.get("status", 503))
            if status not in SERVER_ERROR_MESSAGES:
                raise ValueError(f"server_error.status must be one of {sorted(SERVER_ERROR_MESSAGES)}")
            self.error_count = _non_negative(int(server_error.get("count", 1)), "server_error.count")
            self.error_status = status
            method = server_error.get("method")
            self.error_method = method.upper() if method else None
        if hang is not None:
            self.hang_count = _non_negative(int(hang.get("count", 1)), "hang.count")
            self.hang_seconds = float(hang.get("seconds", 30))

    async def apply(self, method: str) -> InjectedFault | None:
        """Wait out latency/hangs, then consume and return the fault this request gets, if any."""
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        if self.hang_count > 0:
            self.hang_count -= 1
            await asyncio.sleep(self.hang_seconds)
        if self.throttle_count > 0:
            self.throttle_count -= 1
            return InjectedFault(429, {"error": {"code": "0x80072322", "message": THROTTLE_MESSAGE}},
                                 {"Retry-After": str(self.retry_after_seconds)})
        if self.error_count > 0 and (self.error_method is None or self.error_method == method.upper()):
            self.error_count -= 1
            status = self.error_status
            return InjectedFault(status, {"error": {"code": "", "message": SERVER_ERROR_MESSAGES[status]}}, {})
        return None

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def _non_negative(value: int, name: str) -> int:
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


class RequestStats:
    """Counts of requests the sandbox received, by (method, path)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, method: str, path: str) -> None:
        self._counts[(method.upper(), path)] += 1

    def count(self, *, method: str | None = None, path: str | None = None, path_prefix: str | None = None) -> int:
        """How many requests matched; every filter is optional."""
        return sum(
            number
            for (m, p), number in self._counts.items()
            if (method is None or m == method.upper())
            and (path is None or p == path)
            and (path_prefix is None or p.startswith(path_prefix))
        )

    def requests(self) -> list[tuple[str, str]]:
        """Every (method, path) received, once per request, sorted."""
        return sorted(key for key, number in self._counts.items() for _ in range(number))

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def reset(self) -> None:
        self._counts.clear()

    def describe(self) -> dict[str, Any]:
        return {"total": self.total,
                "requests": [{"method": m, "path": p, "count": n} for (m, p), n in sorted(self._counts.items())]}
