"""Client ID Metadata Documents: the SSRF guard against real address resolution, and document validation with a
served document (httpx.MockTransport standing in for the network, pinned to the resolved address)."""

from __future__ import annotations

import json

import httpx
import pytest

from dataverse.oauth.cimd import ClientMetadataFetcher
from dataverse.oauth.errors import ClientMetadataError, UnsafeClientMetadataUrlError
from dataverse.oauth.redirects import RedirectAllowList
from dataverse.settings import DEFAULT_REDIRECT_URIS

CLIENT_URL = "https://client.example/oauth/metadata.json"
PUBLIC_ADDRESS = "93.184.215.14"


def fetcher(transport=None, resolver=None) -> ClientMetadataFetcher:
    options = {"resolver": resolver} if resolver else {}
    return ClientMetadataFetcher(allow_list=RedirectAllowList(DEFAULT_REDIRECT_URIS), default_scope="MCP.Access",
                                 transport=transport, **options)


def serving(document: dict | bytes, *, status: int = 200, seen: list | None = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)


async def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_ADDRESS]


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/client.json",
    "https://10.0.0.1/client.json",
    "https://192.168.1.5/client.json",
    "https://[::1]/client.json",
    "https://169.254.169.254/latest/meta-data",
    "https://[::ffff:127.0.0.1]/client.json",
    "https://224.0.0.1/client.json",
    "https://0.0.0.0/client.json",
    "https://localhost/client.json",  # resolved for real: loopback
])
async def test_private_and_special_addresses_are_never_fetched(url):
    requests: list = []
    with pytest.raises(UnsafeClientMetadataUrlError):
        await fetcher(serving({}, seen=requests)).get_client(url)
    assert requests == []


@pytest.mark.parametrize("url", ["http://client.example/client.json", "https://client.example/",
                                 "https://user@client.example/c.json"])
async def test_non_https_root_or_userinfo_urls_are_refused(url):
    with pytest.raises(UnsafeClientMetadataUrlError):
        await fetcher(serving({}), public_resolver).get_client(url)


async def test_a_hostname_resolving_to_a_private_address_is_refused():
    async def rebinding(host: str, port: int) -> list[str]:
        return [PUBLIC_ADDRESS, "10.1.2.3"]

    with pytest.raises(UnsafeClientMetadataUrlError):
        await fetcher(serving({}), rebinding).get_client(CLIENT_URL)


async def test_a_valid_document_becomes_a_public_client_fetched_from_the_pinned_address():
    seen: list[httpx.Request] = []
    document = {"client_id": CLIENT_URL, "client_name": "Example", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]}
    client = await fetcher(serving(document, seen=seen), public_resolver).get_client(CLIENT_URL)
    assert client.client_id == CLIENT_URL and client.client_name == "Example"
    assert client.token_endpoint_auth_method == "none" and client.client_secret is None
    assert [str(u) for u in client.redirect_uris] == ["https://claude.ai/api/mcp/auth_callback"]
    assert seen[0].url.host == PUBLIC_ADDRESS and seen[0].headers["host"] == "client.example"
    assert seen[0].extensions["sni_hostname"] == "client.example"


@pytest.mark.parametrize("document, status", [
    ({"client_id": "https://other.example/c.json", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]}, 200),
    ({"client_id": CLIENT_URL, "redirect_uris": ["https://attacker.example/cb"]}, 200),
    ({"client_id": CLIENT_URL, "redirect_uris": []}, 200),
    ({"client_id": CLIENT_URL, "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
      "token_endpoint_auth_method": "client_secret_post"}, 200),
    ({"client_id": CLIENT_URL, "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]}, 302),
    (b"x" * (64 * 1024 + 1), 200),
    (b"not json", 200),
])
async def test_unacceptable_documents_are_refused(document, status):
    with pytest.raises(ClientMetadataError):
        await fetcher(serving(document, status=status), public_resolver).get_client(CLIENT_URL)


@pytest.mark.parametrize("address", ["fec0::1", "fec0:1234::5", "feff:ffff::1", "64:ff9b::a00:1", "64:ff9b::7f00:1"])
async def test_site_local_and_nat64_wrapped_private_addresses_are_never_fetched(address):
    async def resolving_to(host: str, port: int) -> list[str]:
        return [address]

    requests: list = []
    with pytest.raises(UnsafeClientMetadataUrlError):
        await fetcher(serving({}, seen=requests), resolving_to).get_client(CLIENT_URL)
    assert requests == []


async def test_the_document_cache_is_bounded_and_keeps_the_most_recently_used():
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        url = f"https://{request.headers['host']}{request.url.path}"
        return httpx.Response(200, json={"client_id": url, "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]})

    cache = ClientMetadataFetcher(allow_list=RedirectAllowList(DEFAULT_REDIRECT_URIS), default_scope="MCP.Access",
                                  transport=httpx.MockTransport(handle), resolver=public_resolver, cache_max_entries=3)
    urls = [f"https://client{n}.example/meta.json" for n in range(6)]
    await cache.get_client(urls[0])
    for url in urls[1:]:
        await cache.get_client(url)
        await cache.get_client(urls[0])  # keeps the first one recently used
    assert cache.cached_count == 3
    fetches = len(seen)
    await cache.get_client(urls[0])
    await cache.get_client(urls[5])
    assert len(seen) == fetches  # both still cached
    await cache.get_client(urls[1])
    assert len(seen) == fetches + 1  # evicted long ago: fetched again
