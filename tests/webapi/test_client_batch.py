"""$batch on the wire: the request body in the documented format (CRLF, application/http parts, change sets with
Content-IDs, $n references, the closing boundary and final CRLF), the documented answers read into per-operation
results (successes, a stopped batch, continue-on-error, both shapes of a failed change set), and that a batch is
never retried."""

from __future__ import annotations

import re

import httpx
import pytest

from dataverse.webapi import (
    BadRequestError,
    BatchRequest,
    ChangeSet,
    OutcomeUnknownError,
    ThrottledError,
)

ORG = "https://contoso.crm.dynamics.com"
API = f"{ORG}/api/data/v9.2/"
ACCOUNT = "00000000-0000-0000-0000-000000000001"
TASK_BIND = {"regardingobjectid_account_task@odata.bind": f"accounts({ACCOUNT})"}


def crlf(text: str) -> bytes:
    """A documented example (printed with LF) as it travels: CRLF line endings, the org URL filled in."""
    return text.replace("[Organization Uri]", ORG).replace("\n", "\r\n").encode("utf-8")


def batch_answer(text: str, *, status: int = 200) -> httpx.Response:
    boundary = re.search(r"--(batchresponse_[0-9a-f-]+)", text).group(1)
    return httpx.Response(status, content=crlf(text), headers={
        "Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"})


THREE_TASKS_AND_A_READ = """--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)


--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
OData-Version: 4.0

{
  "@odata.context": "[Organization Uri]/api/data/v9.2/$metadata#tasks(subject)",
  "value": [{"@odata.etag": "W/\\"77180907\\"", "subject": "Task 1 in batch",
             "activityid": "d31ba648-c592-ed11-aad1-000d3a993550"}]
}
--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916--
"""

CHANGE_SET_OF_THREE = """--batchresponse_3cace264-86ea-40fe-83d3-954b336c0f4a
Content-Type: multipart/mixed; boundary=changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc

--changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/leads(425195a4-7a75-e911-a97a-000d3a34a1bd)
OData-EntityId: [Organization Uri]/api/data/v9.2/leads(425195a4-7a75-e911-a97a-000d3a34a1bd)

--changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-Version: 4.0
Location:[Organization Uri]/api/data/v9.2/contacts(495195a4-7a75-e911-a97a-000d3a34a1bd)
OData-EntityId:[Organization Uri]/api/data/v9.2/contacts(495195a4-7a75-e911-a97a-000d3a34a1bd)

--changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 3

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/accounts(4f5195a4-7a75-e911-a97a-000d3a34a1bd)
OData-EntityId: [Organization Uri]/api/data/v9.2/accounts(4f5195a4-7a75-e911-a97a-000d3a34a1bd)

--changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc--
--batchresponse_3cace264-86ea-40fe-83d3-954b336c0f4a--
"""

STOPPED_AT_THE_FIRST = """--batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: 5ecd1cb3-1730-4ffc-909c-d44c22270026
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"error":{"code":"0x80044331","message":"A validation error occurred.  The length of the 'subject' attribute of \
the 'task' entity exceeded the maximum allowed length of '200'."}}
--batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a--
"""

FAILED_SET_SPEC_SHAPE = """--batchresponse_aaaa0000-0000-4000-8000-000000000001
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 400 Bad Request
REQ_ID: 11111111-1730-4ffc-909c-d44c22270026
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"error":{"code":"0x80040203","message":"A value for the required column 'lastname' was not provided."}}
--batchresponse_aaaa0000-0000-4000-8000-000000000001
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)


--batchresponse_aaaa0000-0000-4000-8000-000000000001--
"""

FAILED_SET_NESTED_SHAPE = """--batchresponse_bbbb0000-0000-4000-8000-000000000001
Content-Type: multipart/mixed; boundary=changesetresponse_cccc0000-0000-4000-8000-000000000001

--changesetresponse_cccc0000-0000-4000-8000-000000000001
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 400 Bad Request
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"error":{"code":"0x80040203","message":"A value for the required column 'lastname' was not provided."}}
--changesetresponse_cccc0000-0000-4000-8000-000000000001--
--batchresponse_bbbb0000-0000-4000-8000-000000000001--
"""


def tasks(*subjects: str) -> list[BatchRequest]:
    return [BatchRequest.create("tasks", {"subject": subject, **TASK_BIND}) for subject in subjects]


async def test_the_request_follows_the_documented_format(harness):
    h = harness(batch_answer(THREE_TASKS_AND_A_READ))
    await h.client.submit_batch([*tasks("Task 1 in batch"), BatchRequest(
        "GET", f"accounts({ACCOUNT})/Account_Tasks", params={"$select": "subject"})])
    request = h.last
    assert (request.method, str(request.url)) == ("POST", f"{API}$batch")
    boundary = re.fullmatch(r"multipart/mixed; boundary=(batch_[0-9a-f-]{36})", request.headers["Content-Type"])
    assert boundary, request.headers["Content-Type"]
    b = boundary.group(1)
    assert request.headers["Accept"] == "application/json" and request.headers["OData-Version"] == "4.0"
    assert "Prefer" not in request.headers
    assert request.content.decode() == (
        f"--{b}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"POST {API}tasks HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n"
        f'{{"subject": "Task 1 in batch", "regardingobjectid_account_task@odata.bind": "accounts({ACCOUNT})"}}'
        f"\r\n\r\n"
        f"--{b}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {API}accounts({ACCOUNT})/Account_Tasks?$select=subject HTTP/1.1\r\n\r\n\r\n\r\n"
        f"--{b}--\r\n")


async def test_a_change_set_numbers_content_ids_and_keeps_references(harness):
    h = harness(batch_answer(CHANGE_SET_OF_THREE))
    result = await h.client.submit_batch([ChangeSet([
        BatchRequest.create("leads", {"firstname": "first name", "lastname": "last name"}),
        BatchRequest.create("contacts", {"firstname": "first name"}),
        BatchRequest.create("accounts", {"name": "IcM Account", "originatingleadid@odata.bind": "$1",
                                         "primarycontactid@odata.bind": "$2"}),
    ])], continue_on_error=True)
    body = h.last.content.decode()
    change_boundary = re.search(r"boundary=(changeset_[0-9a-f-]{36})", body).group(1)
    assert body.count(f"--{change_boundary}\r\n") == 3 and f"--{change_boundary}--" in body
    assert re.findall(r"Content-ID: (\d+)", body) == ["1", "2", "3"]
    assert '"originatingleadid@odata.bind": "$1"' in body
    assert h.last.headers["Prefer"] == "odata.continue-on-error"
    assert result.succeeded
    assert [op.content_id for op in result.operations] == ["1", "2", "3"]
    assert [op.record_id for op in result.operations] == ["425195a4-7a75-e911-a97a-000d3a34a1bd",
                                                          "495195a4-7a75-e911-a97a-000d3a34a1bd",
                                                          "4f5195a4-7a75-e911-a97a-000d3a34a1bd"]


async def test_a_reference_can_be_the_path_of_a_later_request(harness):
    h = harness(batch_answer(CHANGE_SET_OF_THREE))
    await h.client.submit_batch([ChangeSet([
        BatchRequest.create("accounts", {"name": "Account name"}, content_id="a"),
        BatchRequest.create("contacts", {"firstname": "Contact first name"}, content_id="b"),
        BatchRequest("PUT", "$a/primarycontactid/$ref", {"@odata.id": "$b"}),
    ])])
    body = h.last.content.decode()
    assert "PUT $a/primarycontactid/$ref HTTP/1.1" in body
    assert re.findall(r"Content-ID: (\w+)", body) == ["a", "b", "1"]


async def test_the_documented_answers_become_one_result_per_request(harness):
    h = harness(batch_answer(THREE_TASKS_AND_A_READ))
    result = await h.client.submit_batch([*tasks("Task 1 in batch"), BatchRequest.query("tasks", select=["subject"])])
    created, read = result.operations
    assert (created.outcome, created.status, created.record_id) == ("succeeded", 204,
                                                                    "d31ba648-c592-ed11-aad1-000d3a993550")
    assert created.headers["location"] == f"{API}tasks(d31ba648-c592-ed11-aad1-000d3a993550)"
    assert (read.outcome, read.status) == ("succeeded", 200)
    assert read.body["value"][0]["subject"] == "Task 1 in batch"


async def test_a_batch_stopped_at_its_first_failure_reports_the_rest_as_not_run(harness):
    h = harness(batch_answer(STOPPED_AT_THE_FIRST, status=400))
    result = await h.client.submit_batch(tasks("Subject is too long", "Task 2 in batch", "Task 3 in batch"))
    assert [op.outcome for op in result.operations] == ["failed", "not_run", "not_run"]
    failed = result.operations[0]
    assert failed.status == 400 and failed.error.code == "0x80044331"
    assert failed.error.request_id == "5ecd1cb3-1730-4ffc-909c-d44c22270026"
    assert "maximum allowed length of '200'" in str(failed.error)
    assert not result.succeeded and len(result.failures) == 3


async def test_a_failed_change_set_in_the_odata_shape_rolls_back_its_other_requests(harness):
    h = harness(batch_answer(FAILED_SET_SPEC_SHAPE))
    result = await h.client.submit_batch([
        ChangeSet([BatchRequest.create("accounts", {"name": "A"}), BatchRequest.create("contacts", {})]),
        *tasks("after"),
    ], continue_on_error=True)
    account, contact, task = result.operations
    assert (account.outcome, contact.outcome, task.outcome) == ("rolled_back", "failed", "succeeded")
    assert account.error.code == contact.error.code == "0x80040203"
    assert account.change_set == contact.change_set == 0 and task.change_set is None


async def test_a_failed_change_set_without_a_content_id_rolls_back_every_request(harness):
    answer = FAILED_SET_SPEC_SHAPE.replace("Content-ID: 2\n", "")
    h = harness(batch_answer(answer))
    result = await h.client.submit_batch([
        ChangeSet([BatchRequest.create("accounts", {"name": "A"}), BatchRequest.create("contacts", {})]),
        *tasks("after")], continue_on_error=True)
    assert [op.outcome for op in result.operations] == ["rolled_back", "rolled_back", "succeeded"]
    assert result.operations[0].error.code == "0x80040203"


async def test_a_failed_change_set_nested_in_a_changeset_response_is_read_too(harness):
    h = harness(batch_answer(FAILED_SET_NESTED_SHAPE, status=400))
    result = await h.client.submit_batch([
        ChangeSet([BatchRequest.create("accounts", {"name": "A"}), BatchRequest.create("contacts", {})])])
    assert [op.outcome for op in result.operations] == ["rolled_back", "failed"]
    assert result.operations[1].error.message.startswith("A value for the required column")


async def test_a_batch_refused_as_a_whole_raises_bad_request(harness):
    refused = "Content-ID Reference: '$1' does not exist in the batch context."
    h = harness(httpx.Response(400, json={"error": {"code": "0x80048d19", "message": refused}}))
    with pytest.raises(BadRequestError, match="does not exist in the batch context"):
        await h.client.submit_batch(tasks("x"))


@pytest.mark.parametrize("failure", [
    httpx.Response(503, json={"error": {"code": "", "message": "Service Unavailable"}}),
    httpx.Response(500, json={"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}),
    httpx.ReadTimeout("no answer"),
    httpx.RemoteProtocolError("connection dropped"),
])
async def test_a_batch_that_fails_after_sending_is_an_unknown_outcome_and_is_sent_once(harness, failure):
    h = harness(failure)
    with pytest.raises(OutcomeUnknownError, match="query the records it creates or changes"):
        await h.client.submit_batch(tasks("x", "y"))
    assert len(h.requests) == 1


async def test_a_throttled_batch_is_not_retried(harness):
    h = harness(httpx.Response(429, headers={"Retry-After": "5"},
                               json={"error": {"code": "0x80072322", "message": "Number of requests exceeded"}}))
    with pytest.raises(ThrottledError):
        await h.client.submit_batch(tasks("x"))
    assert len(h.requests) == 1


@pytest.mark.parametrize(("items", "message"), [
    ([], "non-empty"),
    (tasks("x")[0], "sequence"),
    (tasks(*["t"] * 1001), "at most 1000"),
    ([BatchRequest("PATCH", "$1", {"name": "x"})], "only valid inside a change set"),
    ([ChangeSet([BatchRequest.create("tasks", {}, content_id="1"),
                 BatchRequest.create("tasks", {})]), ChangeSet([BatchRequest.create("tasks", {}, content_id="1")])],
     "unique"),
])
async def test_batches_dataverse_would_refuse_are_refused_before_sending(harness, items, message):
    h = harness(batch_answer(CHANGE_SET_OF_THREE))
    with pytest.raises(ValueError, match=message):
        await h.client.submit_batch(items)
    assert h.requests == []


def test_requests_that_cannot_be_in_a_batch_are_refused():
    with pytest.raises(ValueError, match="GET is not allowed in a change set"):
        ChangeSet([BatchRequest.query("accounts")])
    with pytest.raises(ValueError):
        BatchRequest("POST", "/api/data/v9.2/accounts", {})
    with pytest.raises(ValueError):
        BatchRequest("POST", "accounts?$x=1", {})
    with pytest.raises(ValueError):
        BatchRequest("PATCH", "accounts(1)", {}, headers={"X-Evil": "a\r\nAuthorization: b"})
