"""Abuse limits before authentication: per-client-address and global rate limits on /register, /authorize and
/token, counted in shared storage so they hold across every instance of the app.

Counting: fixed windows of `window_seconds`. Each (route, bucket, window) is counted in records of the
`oauthratelimits` collection raised with ETag-conditional writes, so two instances never lose an increment (see
WindowCounter for how a burst is spread over several records). A request
is counted against its client address first and, if that is under its limit, against the route's global limit. Over
either limit the answer is 429 with Retry-After (the seconds left in the window); a browser gets a page, anything else
JSON. Storage unreachable: the storage-outage middleware answers 503, as everywhere.

The client address is the right-most X-Forwarded-For entry (the one Azure's front end appends; a client cannot
forge it), else the connection's peer. IPv6 addresses count per /64, the block one subscriber usually holds.

The numbers (DEFAULT_LIMITS) are sized for one tenant: ChatGPT and claude.ai call /register and /token from their
own servers, so one address carries every user of the tenant who uses that assistant; /authorize comes from the
users' browsers.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dataverse.oauth.models import RateWindowCount
from dataverse.oauth.page_shell import Branding
from dataverse.oauth.problem_pages import TOO_MANY_ATTEMPTS, prefers_html, problem_page
from dataverse.oauth.repository import OAuthRepository
from dataverse.storage.errors import ConcurrencyError, RecordExistsError

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class RateLimit:
    """At most `per_address` requests from one client address, and `overall` from everyone, per window."""

    per_address: int
    overall: int
    window_seconds: int = 60


DEFAULT_LIMITS: dict[str, RateLimit] = {
    "/register": RateLimit(per_address=20, overall=200),
    "/authorize": RateLimit(per_address=60, overall=1200),
    "/token": RateLimit(per_address=300, overall=3000),
}
LIMITED_METHODS = frozenset({"GET", "POST"})


def client_address(scope: Scope) -> str:
    """The caller's address as a bucket name: right-most X-Forwarded-For entry, else the peer; IPv6 as its /64."""
    forwarded = Headers(scope=scope).get("x-forwarded-for", "")
    candidate = forwarded.rsplit(",", 1)[-1].strip() if forwarded.strip() else ""
    if not candidate and scope.get("client"):
        candidate = str(scope["client"][0])
    if candidate.startswith("["):  # [v6]:port
        candidate = candidate[1:].split("]", 1)[0]
    elif candidate.count(":") == 1:  # v4:port
        candidate = candidate.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def shard_capacity(limit: int, shard: int, shards: int) -> int:
    """How many of `limit` requests shard number `shard` of `shards` admits (the shares add up to `limit`)."""
    return limit // shards + (1 if shard < limit % shards else 0)


class WindowCounter:
    """Fixed-window request counters in shared storage.

    One row per bucket and window would make every concurrent request of a burst race for the same ETag (64
    concurrent token refreshes from one assistant's servers lost the race more often than a bounded retry allows).
    So each window's allowance is split over SHARDS rows: a request starts at a random shard and moves to the next
    one when its shard is full or another instance wrote it first. The shares add up to the limit exactly; a request
    is refused once every shard was seen full, or when it lost the race on every attempt (then the window is
    contended far beyond any honest client). A bucket seen full is remembered in this process until its window ends,
    so a flood past the limit costs no storage round trips.
    """

    SHARDS = 16
    MAX_REMEMBERED_FULL = 10_000

    def __init__(self, repository: OAuthRepository, *, clock: Callable[[], float] = time.time) -> None:
        self._counts = repository.rate_limits
        self._clock = clock
        self._full_until: OrderedDict[str, float] = OrderedDict()

    async def hit(self, bucket: str, *, limit: int, window_seconds: int) -> float | None:
        """Count one request in `bucket`; None when it is within `limit`, else the seconds until the window ends."""
        now = self._clock()
        window = math.floor(now / window_seconds)
        window_end = (window + 1) * window_seconds
        window_key = f"{bucket}|{window}"
        if self._full_until.get(window_key, 0.0) > now:
            return window_end - now
        shards = [shard for shard in range(self.SHARDS) if shard_capacity(limit, shard, self.SHARDS) > 0]
        start = random.randrange(len(shards)) if shards else 0
        seen_full: set[int] = set()
        for attempt in range(2 * len(shards)):
            shard = shards[(start + attempt) % len(shards)]
            if shard in seen_full:
                continue
            admitted = await self._take(f"{window_key}|{shard}", shard_capacity(limit, shard, self.SHARDS),
                                        expires_at=window_end + window_seconds, now=now)
            if admitted:
                return None
            if admitted is False:
                seen_full.add(shard)
                if len(seen_full) == len(shards):
                    break
        if len(seen_full) == len(shards):
            self._remember_full(window_key, window_end)
        else:
            logger.warning("rate limit bucket %s is contended; request refused", bucket)
        return window_end - now

    async def _take(self, key: str, capacity: int, *, expires_at: float, now: float) -> bool | None:
        """True when a place in the shard was taken, False when it is full, None when another writer came first."""
        found = await self._counts.get(key)
        try:
            if found is None:
                await self._counts.create(key, RateWindowCount(count=1), expires_at=expires_at, now=now)
                return True
            if found.item.count >= capacity:
                return False
            await self._counts.replace(key, RateWindowCount(count=found.item.count + 1), etag=found.etag,
                                       expires_at=expires_at, now=now)
            return True
        except (RecordExistsError, ConcurrencyError):
            return None

    def _remember_full(self, window_key: str, window_end: float) -> None:
        self._full_until[window_key] = window_end
        while len(self._full_until) > self.MAX_REMEMBERED_FULL:
            self._full_until.popitem(last=False)


class RateLimitMiddleware:
    """429 with Retry-After for /register, /authorize and /token past their limits; other requests pass."""

    def __init__(
        self, app: ASGIApp, *, counter: WindowCounter, limits: Mapping[str, RateLimit], branding: Branding
    ) -> None:
        self._app = app
        self._counter = counter
        self._limits = dict(limits)
        self._branding = branding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limits.get(scope["path"]) if scope["type"] == "http" else None
        if limit is None or scope["method"] not in LIMITED_METHODS:
            await self._app(scope, receive, send)
            return
        route = scope["path"]
        address = client_address(scope)
        retry_after = await self._counter.hit(f"{route}|address|{address}", limit=limit.per_address,
                                              window_seconds=limit.window_seconds)
        if retry_after is None:
            retry_after = await self._counter.hit(f"{route}|all", limit=limit.overall,
                                                  window_seconds=limit.window_seconds)
        if retry_after is None:
            await self._app(scope, receive, send)
            return
        logger.warning("rate limit: %s from %s refused for %.0f s", route, address, retry_after)
        seconds = str(max(1, math.ceil(retry_after)))
        response: Response
        if prefers_html(Headers(scope=scope).get("accept")):
            response = problem_page(self._branding, TOO_MANY_ATTEMPTS, status_code=429)
        else:
            response = JSONResponse(
                {"error": "rate_limited", "error_description": f"Too many requests; retry after {seconds} s."},
                status_code=429, headers={"Cache-Control": "no-store"},
            )
        response.headers["Retry-After"] = seconds
        await response(scope, receive, send)
