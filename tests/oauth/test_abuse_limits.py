"""Abuse before authentication: rate limits (per client address and global, counted in shared storage across
instances), size caps on every registration field and on `state`, a body limit on every POST route, and 4xx (never
500) for oversized or malformed input. Each test is the attack, sent over real HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from dataverse.oauth.rate_limits import DEFAULT_LIMITS, RateLimit
from dataverse.storage import create_table_store
from tests.azurite import AzuriteTable, running_azurite

from .conftest import CLIENT_REDIRECT, Clock, authorize_url, register_client, running_server, s256
from .test_oauth_attacks import new_client
from .test_rfc_conformance import BROWSER_ACCEPT, stored

REGISTRATION = {"redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "none", "client_name": "flood"}
SMALL = {"/register": RateLimit(per_address=3, overall=5), "/authorize": RateLimit(per_address=3, overall=5),
         "/token": RateLimit(per_address=3, overall=5)}


@pytest.fixture(scope="module")
def azurite() -> Iterator[AzuriteTable]:
    with running_azurite() as emulator:
        yield emulator


async def post_registration(http: httpx.AsyncClient, base_url: str, address: str = "203.0.113.7") -> httpx.Response:
    return await http.post(f"{base_url}/register", json=REGISTRATION, headers={"X-Forwarded-For": address})


# --- rate limits ---------------------------------------------------------------------------------------------------
async def test_forty_registrations_in_a_tenth_of_a_second_stop_at_the_per_address_limit():
    with running_server(clock=Clock.starting_a_window()) as server:
        async with httpx.AsyncClient(timeout=20) as http:
            responses = await asyncio.gather(*(post_registration(http, server.base_url) for _ in range(40)))
    statuses = sorted(response.status_code for response in responses)
    allowed = DEFAULT_LIMITS["/register"].per_address
    assert statuses == [201] * allowed + [429] * (40 - allowed)
    refused = next(response for response in responses if response.status_code == 429)
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"] == "rate_limited"
    assert await stored(server, "oauthclients") == allowed


async def test_the_global_limit_holds_when_every_request_comes_from_another_address():
    with running_server(clock=Clock.starting_a_window(), oauth_options={"rate_limits": SMALL}) as server:
        async with httpx.AsyncClient() as http:
            from_one = [await post_registration(http, server.base_url, "198.51.100.1") for _ in range(4)]
            from_others = [await post_registration(http, server.base_url, f"198.51.100.{n}") for n in (2, 3, 4)]
    assert [r.status_code for r in from_one] == [201, 201, 201, 429]  # per address: 3
    assert [r.status_code for r in from_others] == [201, 201, 429]  # overall: 5


async def test_ipv6_addresses_count_per_64_block():
    with running_server(clock=Clock.starting_a_window(), oauth_options={"rate_limits": SMALL}) as server:
        async with httpx.AsyncClient() as http:
            statuses = [(await post_registration(http, server.base_url, f"2001:db8:1:2::{n}")).status_code
                        for n in range(1, 5)]
    assert statuses == [201, 201, 201, 429]


@pytest.mark.parametrize("path", ["/authorize", "/token"])
async def test_authorize_and_token_are_limited_too(path):
    with running_server(clock=Clock.starting_a_window(), oauth_options={"rate_limits": SMALL}) as server:
        client_id = await new_client(server)
        async with httpx.AsyncClient() as http:
            if path == "/authorize":
                calls = [http.get(authorize_url(server.base_url, client_id, s256("v" * 50))) for _ in range(4)]
            else:
                calls = [http.post(f"{server.base_url}/token", data={"grant_type": "password", "client_id": client_id})
                         for _ in range(4)]
            statuses = [(await call).status_code for call in calls]
    assert statuses[:3] != [429] * 3 and statuses[3] == 429


async def test_a_browser_past_the_limit_gets_a_page_with_retry_after():
    with running_server(clock=Clock.starting_a_window(), oauth_options={"rate_limits": SMALL}) as server:
        client_id = await new_client(server)
        async with httpx.AsyncClient() as http:
            for _ in range(3):
                await http.get(authorize_url(server.base_url, client_id, s256("v" * 50)))
            page = await http.get(authorize_url(server.base_url, client_id, s256("v" * 50)),
                                  headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 429 and page.headers["retry-after"].isdigit()
    assert page.headers["content-type"].startswith("text/html") and 'id="next-step"' in page.text


async def test_the_limit_is_counted_across_two_instances_sharing_one_azurite(azurite):
    prefix = f"t{uuid.uuid4().hex[:12]}"
    clock = Clock.starting_a_window()
    stores = [create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
              for _ in range(2)]
    try:
        with running_server(store=stores[0], clock=clock, oauth_options={"rate_limits": SMALL}) as first, \
                running_server(store=stores[1], clock=clock, oauth_options={"rate_limits": SMALL}) as second:
            async with httpx.AsyncClient(timeout=20) as http:
                statuses = [(await post_registration(http, instance.base_url)).status_code
                            for instance in (first, second, first, second)]
                clock.advance(60)  # the next window starts afresh
                later = await post_registration(http, second.base_url)
    finally:
        for store in stores:
            await store.close()
    assert statuses == [201, 201, 201, 429]
    assert later.status_code == 201


async def test_concurrent_requests_on_two_instances_never_exceed_the_limit(azurite):
    prefix = f"t{uuid.uuid4().hex[:12]}"
    limits = {"/register": RateLimit(per_address=12, overall=100)}
    clock = Clock.starting_a_window()
    stores = [create_table_store(connection_string=azurite.connection_string, table_prefix=prefix, clock=clock)
              for _ in range(2)]
    try:
        with running_server(store=stores[0], clock=clock, oauth_options={"rate_limits": limits}) as first, \
                running_server(store=stores[1], clock=clock, oauth_options={"rate_limits": limits}) as second:
            async with httpx.AsyncClient(timeout=30) as http:
                responses = await asyncio.gather(*(post_registration(http, instance.base_url)
                                                   for instance in (first, second) * 15))
    finally:
        for store in stores:
            await store.close()
    assert sum(response.status_code == 201 for response in responses) == 12
    assert {response.status_code for response in responses} == {201, 429}


# --- size caps and body limits -----------------------------------------------------------------------------------
@pytest.mark.parametrize("oversized", [
    {"client_name": "x" * 600_000},  # the red team's 600 KB registration (was a 500)
    {"jwks": {"keys": [{"kty": "RSA", "n": "x" * 350_000, "e": "AQAB"}]}},  # the 350 KB jwks kept for 90 days
])
async def test_oversized_registrations_answer_413(server, oversized):
    response = await register_client(server.base_url, **oversized)
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
    assert await stored(server, "oauthclients") == 0


@pytest.mark.parametrize("field, value", [
    ("client_name", "n" * 121), ("client_uri", "https://a.example/" + "p" * 1100), ("software_id", "s" * 129),
    ("redirect_uris", [f"http://127.0.0.1:{port}/cb" for port in range(8000, 8011)]),
    ("contacts", ["a@example.com"] * 6), ("scope", "MCP.Access " * 200),
])
async def test_each_registration_field_has_a_size_cap(server, field, value):
    response = await register_client(server.base_url, **{field: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata" and field in response.json()["error_description"]


async def test_a_jwks_is_never_stored(server):
    jwks = {"keys": [{"kty": "RSA", "n": "x" * 20_000, "e": "AQAB"}]}
    response = await register_client(server.base_url, jwks=jwks, extra_member="y" * 5000)
    assert response.status_code == 201 and "jwks" not in response.json() and "extra_member" not in response.json()
    client = await server.oauth.provider.get_client(response.json()["client_id"])
    assert client.jwks is None


@pytest.mark.parametrize("path", ["/register", "/token", "/revoke", "/authorize", "/consent", "/oauth/callback",
                                  "/sandbox/entra/x/oauth2/v2.0/token"])
async def test_every_post_route_has_a_body_limit(server, path):
    async with httpx.AsyncClient() as http:
        declared = await http.post(f"{server.base_url}{path}", content=b"a=" + b"x" * 100_000,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})

        async def chunks():
            for _ in range(100):
                yield b"x" * 1024

        chunked = await http.post(f"{server.base_url}{path}", content=chunks(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert declared.status_code == 413 and chunked.status_code == 413


# --- malformed input: 4xx, never 500 -----------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"{" * 50_000 + b"}" * 50_000, b"\xff\xfe{}",
                                  json.dumps({"redirect_uris": "http://127.0.0.1/cb"}).encode(),
                                  json.dumps({"redirect_uris": [CLIENT_REDIRECT],
                                              "application_type": "desktop"}).encode(),
                                  json.dumps({"redirect_uris": [CLIENT_REDIRECT], "client_name": {"a": 1}}).encode()])
async def test_malformed_registrations_answer_400(server, body):
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.base_url}/register", content=body,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413) and response.json()["error"] in ("invalid_client_metadata",
                                                                               "invalid_request")


@pytest.mark.parametrize("body, content_type", [
    (b"--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\n", "multipart/form-data; boundary=x"),
    (b"grant_type=%ZZ&client_id=%", "application/x-www-form-urlencoded"),
    (b'{"grant_type": "authorization_code"}', "application/json"),
    (b"\xff" * 100, "application/x-www-form-urlencoded"),
])
async def test_malformed_token_requests_answer_4xx(server, body, content_type):
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.base_url}/token", content=body, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("params", [
    {"client_id": "x" * 5000}, {"client_id": ["a", "b"]}, {"redirect_uri": "http://[bad"}, {"redirect_uri": "x" * 5000},
])
async def test_malformed_authorize_requests_answer_4xx(server, params):
    client_id = await new_client(server)
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.base_url}/authorize", params={
            "response_type": "code", "client_id": client_id, "code_challenge": s256("v" * 50), **params})
    assert 400 <= response.status_code < 500, response.text
