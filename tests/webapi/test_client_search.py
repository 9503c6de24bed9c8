"""Dataverse search through the client: the request it sends, the hits it reads, and how it fails and retries."""

from __future__ import annotations

import json

import httpx
import pytest

from dataverse.webapi import (
    BadRequestError,
    DataverseError,
    NotFoundError,
    PermissionDeniedError,
    SearchHit,
    ServerError,
    ThrottledError,
    is_search_unavailable,
)

ACCOUNT = "7D716234-0B3F-EE11-BDF4-000D3A1B2C3D"
CONTACT = "1b2c3d4e-0000-4000-8000-000000000002"
INNER = {
    "Error": None,
    "Value": [
        {"Id": ACCOUNT, "EntityName": "account", "ObjectTypeCode": 1, "Attributes": {"name": "Contoso Ltd"},
         "Highlights": {"name": ["{crmhit}Contoso{/crmhit} Ltd"]}, "Score": 4.5},
        {"Id": CONTACT, "EntityName": "Contact", "ObjectTypeCode": 2, "Attributes": {"fullname": "Ana Contoso"},
         "Highlights": {}, "Score": 2.0},
    ],
    "Facets": {},
    "QueryContext": None,
    "Count": -1,
}
ANSWER = httpx.Response(200, json={"response": json.dumps(INNER)})
ENTITIES = [("account", ["name"]), ("contact", ["fullname", "emailaddress1"])]


def failure(status: int, code: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": "Search is not available"}})


async def test_search_posts_to_the_search_endpoint_with_the_tables_as_a_json_string(harness):
    h = harness(ANSWER)
    await h.client.search("Contoso", entities=ENTITIES, top=20)
    assert (h.last.method, h.path()) == ("POST", "/api/search/v2.0/query")
    assert h.last.headers["Authorization"] == "Bearer token-1"
    body = json.loads(h.last.content)
    assert body["search"] == "Contoso" and body["top"] == 20
    assert json.loads(body["entities"]) == [
        {"name": "account", "selectColumns": ["name"]},
        {"name": "contact", "selectColumns": ["fullname", "emailaddress1"]},
    ]


async def test_a_table_without_columns_asks_for_searchs_default_columns(harness):
    h = harness(ANSWER)
    await h.client.search("Contoso", entities=[("account", [])])
    body = json.loads(h.last.content)
    assert json.loads(body["entities"]) == [{"name": "account"}]
    assert body["top"] == 50


async def test_hits_are_read_from_the_inner_json_string_in_searchs_order(harness):
    h = harness(ANSWER)
    hits = await h.client.search("Contoso", entities=ENTITIES)
    assert hits == [
        SearchHit(table="account", id=ACCOUNT.lower(), attributes={"name": "Contoso Ltd"}, score=4.5),
        SearchHit(table="contact", id=CONTACT, attributes={"fullname": "Ana Contoso"}, score=2.0),
    ]


async def test_an_answer_holding_the_result_as_an_object_is_read_too(harness):
    h = harness(httpx.Response(200, json={"response": INNER}))
    hits = await h.client.search("Contoso", entities=ENTITIES)
    assert [hit.table for hit in hits] == ["account", "contact"]


async def test_a_hit_without_a_table_or_a_record_id_is_left_out(harness):
    inner = {"Value": [{"Id": "not-a-guid", "EntityName": "account"}, {"Id": ACCOUNT},
                       {"Id": CONTACT, "EntityName": "contact"}, "junk"]}
    h = harness(httpx.Response(200, json={"response": json.dumps(inner)}))
    hits = await h.client.search("Contoso", entities=ENTITIES)
    assert hits == [SearchHit(table="contact", id=CONTACT, attributes={}, score=None)]


async def test_no_hits_is_an_empty_list(harness):
    h = harness(httpx.Response(200, json={"response": json.dumps({"Error": None, "Value": [], "Count": -1})}))
    assert await h.client.search("zzzz", entities=ENTITIES) == []


@pytest.mark.parametrize("body", [
    {"response": "{not json"},
    {"response": json.dumps(["a list"])},
    {"response": json.dumps({"Value": "not a list"})},
])
async def test_an_answer_that_is_not_a_search_result_is_an_error(harness, body):
    h = harness(httpx.Response(200, json=body))
    with pytest.raises(DataverseError):
        await h.client.search("Contoso", entities=ENTITIES)


async def test_an_error_reported_inside_the_answer_is_raised(harness):
    inner = {"Error": {"code": "0x80048d19", "message": "The search index is being rebuilt."}, "Value": []}
    h = harness(httpx.Response(200, json={"response": json.dumps(inner)}))
    with pytest.raises(DataverseError, match="index is being rebuilt") as caught:
        await h.client.search("Contoso", entities=ENTITIES)
    assert caught.value.code == "0x80048d19"


@pytest.mark.parametrize(("status", "error_type"), [
    (404, NotFoundError), (403, PermissionDeniedError), (501, ServerError),
])
async def test_an_environment_without_search_answers_a_typed_error_at_once(harness, status, error_type):
    h = harness(failure(status))
    with pytest.raises(error_type) as caught:
        await h.client.search("Contoso", entities=ENTITIES)
    assert caught.value.status == status and is_search_unavailable(caught.value)
    assert len(h.requests) == 1 and h.sleeps == []


async def test_a_query_search_will_not_take_is_a_bad_request_not_a_missing_search(harness):
    h = harness(failure(400, "0x80040203"))
    with pytest.raises(BadRequestError) as caught:
        await h.client.search("Contoso", entities=ENTITIES)
    assert not is_search_unavailable(caught.value)


@pytest.mark.parametrize("first", [failure(503), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")])
async def test_search_only_reads_so_it_is_retried_like_a_read(harness, first):
    h = harness(first, ANSWER)
    hits = await h.client.search("Contoso", entities=ENTITIES)
    assert len(hits) == 2 and len(h.requests) == 2 and len(h.sleeps) == 1


async def test_throttled_search_waits_for_retry_after(harness):
    h = harness(httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"code": "0x80072322"}}), ANSWER)
    await h.client.search("Contoso", entities=ENTITIES)
    assert h.sleeps == [3.0]


async def test_throttling_beyond_the_budget_gives_up(harness):
    h = harness(httpx.Response(429, headers={"Retry-After": "30"}, json={"error": {"code": "0x80072322"}}),
                budget_seconds=20)
    with pytest.raises(ThrottledError):
        await h.client.search("Contoso", entities=ENTITIES)
    assert len(h.requests) == 1


@pytest.mark.parametrize(("text", "entities", "top", "message"), [
    ("", ENTITIES, 10, "non-empty"),
    ("   ", ENTITIES, 10, "non-empty"),
    ("x" * 101, ENTITIES, 10, "at most 100"),
    ("Contoso", [], 10, "at least one table"),
    ("Contoso", [("account;drop", ["name"])], 10, "not a valid table logical name"),
    ("Contoso", [("account", ["name eq 'x'"])], 10, "not a valid column name"),
    ("Contoso", [("account", "name")], 10, "pair"),
    ("Contoso", ["account"], 10, "pair"),
    ("Contoso", ENTITIES, 0, "top"),
    ("Contoso", ENTITIES, 101, "top"),
])
async def test_a_search_that_cannot_be_right_is_refused_before_sending(harness, text, entities, top, message):
    h = harness(ANSWER)
    with pytest.raises(ValueError, match=message):
        await h.client.search(text, entities=entities, top=top)
    assert h.requests == []
