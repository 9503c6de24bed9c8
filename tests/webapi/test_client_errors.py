"""Dataverse error answers become the error hierarchy, with code, message and request id in one readable line."""

from __future__ import annotations

import httpx
import pytest

from dataverse.webapi import (
    AuthenticationError,
    BadRequestError,
    ConcurrencyError,
    DataverseError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
)

RECORD = "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d"


def error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "message", "error_type"),
    [
        (
            400,
            "0x80060888",
            "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.account'.",
            BadRequestError,
        ),
        (403, "0x80040220", "Principal user (Id=...) is missing prvReadAccount privilege.", PermissionDeniedError),
        (404, "0x80040217", f"account With Id = {RECORD} Does Not Exist", NotFoundError),
        (
            412,
            "0x80060882",
            "The version of the existing record doesn't match the RowVersion property provided.",
            ConcurrencyError,
        ),
        (413, "", "Request Entity Too Large", PayloadTooLargeError),
        (500, "0x80040216", "An unexpected error occurred.", ServerError),
        (409, "0x80040237", "A record with matching key values already exists.", DataverseError),
    ],
)
async def test_status_and_body_map_to_the_hierarchy(harness, status, code, message, error_type):
    h = harness(error(status, code, message, **{"x-ms-service-request-id": "0b9a1c2d-req"}))
    with pytest.raises(DataverseError) as caught:
        await h.client.retrieve("accounts", RECORD)
    assert type(caught.value) is error_type
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, code, message)
    assert caught.value.request_id == "0b9a1c2d-req"
    text = str(caught.value)
    assert message in text and f"HTTP {status}" in text and "0b9a1c2d-req" in text
    if code:
        assert code in text
    assert "\n" not in text


async def test_unknown_entity_set_is_not_found(harness):
    h = harness(error(404, "0x8006088a", "Resource not found for the segment 'acounts'."))
    with pytest.raises(NotFoundError, match="segment 'acounts'"):
        await h.client.query("acounts")


async def test_request_id_falls_back_to_req_id(harness):
    h = harness(error(400, "", "bad", REQ_ID="legacy-id"))
    with pytest.raises(BadRequestError) as caught:
        await h.client.query("accounts")
    assert caught.value.request_id == "legacy-id"
    assert caught.value.code == ""


async def test_an_empty_401_takes_its_reason_from_www_authenticate(harness):
    h = harness(
        httpx.Response(
            401,
            headers={
                "WWW-Authenticate": 'Bearer error="invalid_token", error_description="The access token is expired", '
                'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
            },
        )
    )
    with pytest.raises(AuthenticationError) as caught:
        await h.client.whoami()
    assert caught.value.message == "The access token is expired"
    assert caught.value.status == 401


async def test_multi_line_messages_become_one_line(harness):
    h = harness(error(400, "0x0", "There is an unterminated literal at position 9\r\nin 'name eq 'x'."))
    with pytest.raises(BadRequestError) as caught:
        await h.client.query("accounts")
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)
    assert "unterminated literal at position 9 in" in caught.value.message


async def test_a_body_that_is_not_json_still_gives_a_useful_error(harness):
    h = harness(httpx.Response(502, text="Bad Gateway"), max_attempts=1)
    with pytest.raises(ServerError, match="Bad Gateway"):
        await h.client.query("accounts")


async def test_an_empty_error_body_names_the_status(harness):
    h = harness(httpx.Response(403))
    with pytest.raises(PermissionDeniedError, match="Forbidden"):
        await h.client.query("accounts")


async def test_a_token_source_that_yields_nothing_is_an_authentication_error(harness):
    from dataverse.webapi import DataverseClient, create_http_client

    async def empty_token() -> str:
        return ""

    h = harness(httpx.Response(200, json={"value": []}))
    client = DataverseClient(
        "https://contoso.crm.dynamics.com", empty_token, http=create_http_client(transport=h.transport)
    )
    with pytest.raises(AuthenticationError, match="No Dataverse access token"):
        await client.query("accounts")
    assert h.requests == []
