"""No input reaching the client can change the request path, add query parameters, or leave the environment.

Each property drives arbitrary text through a client operation and inspects the httpx.Request the transport
receives: either the client refuses before sending anything, or the request is exactly the one intended.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataverse.webapi import DataverseClient, RetryPolicy, create_http_client

ENV_HOST = "contoso.crm.dynamics.com"
API_PATH = "/api/data/v9.2/"
HOSTILE_PIECES = [
    "&",
    "#",
    "?",
    "/",
    "..",
    "%2e",
    "%26",
    "'",
    "''",
    "(",
    ")",
    "$top=1",
    "\r\n",
    " ",
    "\\",
    "=",
    "+",
    ":",
]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=5)), max_size=8).map("".join),
)
identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
maybe_identifier = st.one_of(identifier, hostile_text)
# filters that are well-formed more often than not: hostile text inside a literal, then hostile text after it
filter_text = st.one_of(
    hostile_text,
    st.builds(
        lambda value, tail: f"name eq '{value.replace(chr(39), chr(39) * 2)}'{tail}",
        hostile_text,
        st.one_of(st.just(""), hostile_text),
    ),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(operation):
    """Run `operation(client)` against a recording transport; returns (requests, raised exception or None)."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"value": []})

    async def token() -> str:
        return "t"

    async def go():
        async with create_http_client(transport=httpx.MockTransport(answer)) as http:
            client = DataverseClient(f"https://{ENV_HOST}", token, http=http, retry=RetryPolicy(max_attempts=1))
            try:
                await operation(client)
            except (ValueError, TypeError) as refused:
                return refused
        return None

    refused = asyncio.run(go())
    return requests, refused


def split(request: httpx.Request) -> tuple[str, list[tuple[str, str]]]:
    from urllib.parse import unquote

    raw = request.url.raw_path.decode("ascii")
    path, _, query = raw.partition("?")
    params = (
        [(unquote(k), unquote(v)) for k, _, v in (part.partition("=") for part in query.split("&"))] if query else []
    )
    return path, params


def assert_stayed_home(request: httpx.Request) -> None:
    assert request.url.scheme == "https" and request.url.host == ENV_HOST and request.url.port is None
    assert not request.url.fragment


@SETTINGS
@given(entity_set=maybe_identifier)
def test_an_entity_set_name_cannot_change_the_path_or_add_parameters(entity_set):
    requests, refused = run(lambda client: client.query(entity_set, top=3))
    if refused is not None:
        assert requests == []
        return
    (request,) = requests
    assert_stayed_home(request)
    assert split(request) == (API_PATH + entity_set, [("$top", "3")])


@SETTINGS
@given(
    option=st.sampled_from(["filter", "expand", "orderby", "select"]),
    value=filter_text,
    columns=st.lists(maybe_identifier, max_size=3),
)
def test_query_options_cannot_add_parameters_or_change_the_path(option, value, columns):
    options = {"select": columns} if option == "select" else {option: value}
    requests, refused = run(lambda client: client.query("accounts", **options))
    if refused is not None:
        assert requests == []
        return
    (request,) = requests
    assert_stayed_home(request)
    path, params = split(request)
    assert path == API_PATH + "accounts"
    if option == "select":
        assert params == ([("$select", ",".join(columns))] if columns else [])
    elif option == "orderby":
        assert [name for name, _ in params] == ["$orderby"]
    else:
        assert params == [(f"${option}", value)]


@SETTINGS
@given(record_id=st.one_of(hostile_text, st.uuids().map(str), st.uuids().map(lambda u: "{" + str(u).upper() + "}")))
def test_a_record_id_is_a_guid_or_nothing_is_sent(record_id):
    requests, refused = run(lambda client: client.update("accounts", record_id, {"name": "x"}))
    if refused is not None:
        assert requests == []
        return
    (request,) = requests
    assert_stayed_home(request)
    path, params = split(request)
    assert path == f"{API_PATH}accounts({uuid.UUID(record_id.strip().strip('{}'))})"
    assert params == []


@SETTINGS
@given(
    path=st.one_of(
        hostile_text,
        st.lists(maybe_identifier, min_size=1, max_size=4).map("/".join),
        st.lists(maybe_identifier, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    )
)
def test_request_json_paths_stay_inside_the_environment_and_carry_no_query(path):
    requests, refused = run(lambda client: client.request_json("GET", path))
    if refused is not None:
        assert requests == []
        return
    (request,) = requests
    assert_stayed_home(request)
    sent_path, params = split(request)
    assert params == []
    assert ".." not in sent_path.split("/")
    expected = path if path.startswith("/") else API_PATH + path
    assert sent_path == expected


@SETTINGS
@given(
    link=st.one_of(
        hostile_text,
        hostile_text.map(lambda tail: f"https://{ENV_HOST}{API_PATH}{tail}"),
        filter_text.map(lambda tail: f"https://{ENV_HOST}{API_PATH}accounts?$skiptoken={tail}"),
        hostile_text.map(lambda tail: f"https://{ENV_HOST}{tail}"),
    )
)
def test_query_next_only_ever_calls_this_environments_api(link):
    requests, refused = run(lambda client: client.query_next(link))
    if refused is not None:
        assert requests == []
        return
    (request,) = requests
    assert_stayed_home(request)
    assert request.url.path.startswith(API_PATH)
    assert ".." not in request.url.path.split("/")
    assert request.headers["Authorization"] == "Bearer t"
