"""Client ID Metadata Documents (CIMD): a client_id that is an https URL names a JSON document describing the client.

The fetch is the dangerous part (it is an SSRF primitive handed to anyone on the internet), so it is guarded:
- https only, no userinfo, no fragment, a non-root path;
- the host is resolved here and every address must be public (no private, loopback, link-local, multicast, reserved,
  unspecified, shared or IPv4-mapped-private address); the request then goes to that resolved address (Host header and
  TLS SNI carry the name), so a DNS answer cannot change between the check and the connection;
- no redirects, a 5 s timeout, at most 64 KB read;
- the document's client_id must equal the URL, its redirect_uris must all pass the redirect allow-list.
Good documents are cached in process memory for `cache_ttl_seconds`, at most `cache_max_entries` of them (the least
recently used goes first), so a stream of new client_id URLs cannot grow the process without bound.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pydantic_core
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

from dataverse.oauth.errors import ClientMetadataError, UnsafeClientMetadataUrlError
from dataverse.oauth.redirects import RedirectAllowList

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 5.0

DEFAULT_CACHE_MAX_ENTRIES = 256
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


def looks_like_metadata_url(client_id: str) -> bool:
    """True when a client_id is meant as a CIMD URL (it starts with https://)."""
    return client_id.startswith("https://")


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ClientMetadataError(f"cannot resolve {host}") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: IpAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public_address(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return is_public_address(address.sixtofour)
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64_PREFIX:
        return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False  # fec0::/10, deprecated (RFC 3879) but still routed inside some networks
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _check_url_shape(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an acceptable CIMD URL; UnsafeClientMetadataUrlError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as error:
        raise UnsafeClientMetadataUrlError("malformed client_id URL") from error
    if parts.scheme != "https":
        raise UnsafeClientMetadataUrlError("client_id URL must use https")
    if parts.username is not None or parts.password is not None or parts.fragment or not parts.hostname:
        raise UnsafeClientMetadataUrlError("client_id URL must not carry userinfo or a fragment")
    if parts.path in ("", "/"):
        raise UnsafeClientMetadataUrlError("client_id URL must have a path")
    return parts.hostname, port, parts.path


class ClientMetadataFetcher:
    """Fetches, validates and caches Client ID Metadata Documents.

    `transport` replaces the network (tests serve documents from it); `resolver` replaces DNS. The address check
    always runs on whatever the resolver returns.
    """

    def __init__(
        self,
        *,
        allow_list: RedirectAllowList,
        default_scope: str,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve_host,
        cache_ttl_seconds: float = 300.0,
        cache_max_entries: int = DEFAULT_CACHE_MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._allow_list = allow_list
        self._default_scope = default_scope
        self._transport = transport
        self._resolver = resolver
        self._cache_ttl_seconds = cache_ttl_seconds
        self._cache_max_entries = cache_max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[OAuthClientInformationFull, float]] = OrderedDict()

    @property
    def cached_count(self) -> int:
        """How many documents the cache holds (never more than `cache_max_entries`)."""
        return len(self._cache)

    async def get_client(self, url: str) -> OAuthClientInformationFull:
        """The client described at `url`; ClientMetadataError (or UnsafeClientMetadataUrlError) when unusable."""
        cached = self._cache.get(url)
        if cached is not None:
            if cached[1] > self._clock():
                self._cache.move_to_end(url)
                return cached[0]
            del self._cache[url]
        document = await self._fetch(url)
        client = self._to_client(url, document)
        self._cache[url] = (client, self._clock() + self._cache_ttl_seconds)
        while len(self._cache) > self._cache_max_entries:
            self._cache.popitem(last=False)
        return client

    async def _pinned_address(self, host: str, port: int) -> str:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        candidates = [host] if literal is not None else await self._resolver(host, port)
        if not candidates:
            raise ClientMetadataError(f"{host} has no addresses")
        addresses = [ipaddress.ip_address(candidate.split("%", 1)[0]) for candidate in candidates]
        unsafe = [str(address) for address in addresses if not is_public_address(address)]
        if unsafe:
            raise UnsafeClientMetadataUrlError(f"{host} resolves to a non-public address ({', '.join(unsafe)})")
        return str(addresses[0])

    async def _fetch(self, url: str) -> dict[str, Any]:
        host, port, _ = _check_url_shape(url)
        address = await self._pinned_address(host, port)
        parts = urlsplit(url)
        ip_host = f"[{address}]" if ":" in address else address
        pinned_url = urlunsplit(("https", f"{ip_host}:{port}", parts.path, parts.query, ""))
        host_header = parts.netloc
        async with httpx.AsyncClient(
            transport=self._transport, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False
        ) as client:
            request = client.build_request(
                "GET",
                pinned_url,
                headers={"Host": host_header, "Accept": "application/json"},
                extensions={"sni_hostname": host},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as error:
                raise ClientMetadataError(f"cannot fetch client metadata from {url}: {error!r}") from error
            try:
                if response.status_code != 200:
                    raise ClientMetadataError(f"client metadata at {url} answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ClientMetadataError(f"client metadata at {url} exceeds {MAX_DOCUMENT_BYTES} bytes")
            except httpx.HTTPError as error:
                raise ClientMetadataError(f"cannot read client metadata from {url}: {error!r}") from error
            finally:
                await response.aclose()
        try:
            document = pydantic_core.from_json(bytes(body))  # bounded nesting depth: no RecursionError
        except ValueError as error:
            raise ClientMetadataError(f"client metadata at {url} is not JSON") from error
        if not isinstance(document, dict):
            raise ClientMetadataError(f"client metadata at {url} is not a JSON object")
        return document

    def _to_client(self, url: str, document: dict[str, Any]) -> OAuthClientInformationFull:
        if document.get("client_id") != url:
            raise ClientMetadataError("the document's client_id does not equal its URL")
        if document.get("client_secret") or document.get("client_secret_expires_at"):
            raise ClientMetadataError("a client metadata document must not carry a client secret")
        method = document.get("token_endpoint_auth_method") or "none"
        if method != "none":
            raise ClientMetadataError(f"token_endpoint_auth_method {method!r} is not supported for CIMD clients")
        redirect_uris = document.get("redirect_uris")
        if not (isinstance(redirect_uris, list) and redirect_uris and all(isinstance(u, str) for u in redirect_uris)):
            raise ClientMetadataError("the document needs a non-empty redirect_uris list")
        disallowed = self._allow_list.first_disallowed(redirect_uris)
        if disallowed is not None:
            raise ClientMetadataError(f"redirect URI {disallowed!r} is not allowed by this server")
        fields = {
            key: document[key]
            for key in ("client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id")
            if isinstance(document.get(key), str)
        }
        try:
            return OAuthClientInformationFull(
                **fields,
                client_id=url,
                redirect_uris=redirect_uris,
                token_endpoint_auth_method="none",
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                scope=self._default_scope,
            )
        except ValidationError as error:
            raise ClientMetadataError(f"client metadata at {url} is invalid: {error.error_count()} errors") from error
