"""$batch over HTTP as the Dataverse docs show it: requests and change sets in one multipart body; change sets
atomic with Content-ID references; the response shapes (a new batchresponse boundary, changesetresponse parts
echoing Content-IDs, 204 creates with Location and OData-EntityId, 200 GETs); stop at the first failure (400) or go
on with `Prefer: odata.continue-on-error` (200); and every rule of the lone request still applying inside."""

from __future__ import annotations

from batch_support import BATCH, batch_body, batch_headers, change_set, parse_batch, request_part
from sandbox_dataverse_support import API, BASE_URL, MOUNT

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB

PATH = f"{MOUNT}/api/data/v9.2"


def _contacts(org, last_name: str) -> list[dict]:
    return [row for row in org.rows["contact"].values() if row["lastname"] == last_name]


async def _post_batch(client, body: bytes, **options):
    return await client.post(f"{API}/$batch", content=body, headers=batch_headers(**options))


async def test_a_change_set_creates_records_that_refer_to_each_other(alice, org):
    body = batch_body(change_set(
        request_part("POST", f"{PATH}/contacts", {"firstname": "Batch", "lastname": "Person"}, content_id="1"),
        request_part("POST", f"{PATH}/accounts", {"name": "Batch Account", "primarycontactid@odata.bind": "$1"},
                     content_id="2"),
        request_part("PUT", "$1/parentcustomerid_account/$ref", {"@odata.id": "$2"}, content_id="3"),
    ))
    response = await _post_batch(alice, body)
    assert response.status_code == 200, response.text
    assert response.headers["odata-version"] == "4.0"
    [changes] = parse_batch(response)
    assert changes.is_change_set
    assert [part.mime_headers["content-id"] for part in changes.parts] == ["1", "2", "3"]
    assert [part.status for part in changes.parts] == [204, 204, 204]
    created = changes.parts[0].headers
    assert created["location"] == created["odata-entityid"]
    assert created["odata-entityid"].startswith(f"{BASE_URL}/api/data/v9.2/contacts(")
    assert "location" not in changes.parts[2].headers
    [contact] = _contacts(org, "Person")
    [account] = [row for row in org.rows["account"].values() if row["name"] == "Batch Account"]
    assert account["primarycontactid"] == LookupValue("contact", contact["contactid"])
    assert contact["parentcustomerid"] == LookupValue("account", account["accountid"])


async def test_a_failing_operation_rolls_back_its_whole_change_set(alice, org):
    accounts_before = len(org.rows["account"])
    body = batch_body(change_set(
        request_part("POST", f"{PATH}/accounts", {"name": "Rolled back"}, content_id="1"),
        request_part("POST", f"{PATH}/contacts", {"lastname": "x" * 51}, content_id="2"),
    ))
    response = await _post_batch(alice, body)
    assert response.status_code == 400
    [failure] = parse_batch(response)
    assert not failure.is_change_set  # one application/http error response for the whole set (OData 4.0)
    assert failure.mime_headers["content-id"] == "2"
    assert failure.status == 400
    assert failure.headers["content-type"].startswith("application/json")
    assert failure.headers["req_id"]
    assert failure.body["error"]["code"] == "0x80044331"
    assert len(org.rows["account"]) == accounts_before


async def test_a_rolled_back_change_set_leaves_no_audit_trace(alice, org):
    """The audit log rolls back with the change set: neither the audit rows nor their details (change history) of
    the writes that ran before the failing one remain, and auditing goes on normally afterwards."""
    audits_before, entries_before = dict(org.rows["audit"]), org.audit.checkpoint()
    account = next(row for row in org.rows["account"].values() if row["ownerid"].id == ALICE.systemuser_id)
    seeded = org.audit.history("account", account["accountid"])  # the seeded Create
    body = batch_body(change_set(
        request_part("POST", f"{PATH}/accounts", {"name": "Rolled back"}, content_id="1"),
        request_part("PATCH", f"{PATH}/accounts({account['accountid']})", {"description": "Rolled back too"},
                     content_id="2"),
        request_part("POST", f"{PATH}/contacts", {"lastname": "x" * 51}, content_id="3"),
    ))
    assert (await _post_batch(alice, body)).status_code == 400
    assert org.rows["audit"] == audits_before and org.audit.checkpoint() == entries_before
    assert org.audit.history("account", account["accountid"]) == seeded
    assert not any(entry.new.get("name") == "Rolled back" for entry in org.audit._entries.values())
    history = await alice.get(f"{API}/RetrieveRecordChangeHistory(Target=@target)",
                              params={"@target": f"{{'@odata.id':'accounts({account['accountid']})'}}"})
    assert len(history.json()["AuditDetailCollection"]["AuditDetails"]) == len(seeded)
    kept = batch_body(change_set(
        request_part("PATCH", f"{PATH}/accounts({account['accountid']})", {"description": "Kept"}, content_id="1")))
    assert (await _post_batch(alice, kept)).status_code == 200
    entry, *older = org.audit.history("account", account["accountid"])
    assert (entry.action, entry.new, older) == (2, {"description": "Kept"}, seeded)


async def test_without_continue_on_error_processing_stops_at_the_first_failure(alice, org):
    body = batch_body(
        request_part("POST", f"{PATH}/contacts", {"lastname": "First"}),
        request_part("POST", f"{PATH}/contacts", {"lastname": "x" * 51}),
        request_part("POST", f"{PATH}/contacts", {"lastname": "Third"}),
    )
    response = await _post_batch(alice, body)
    assert response.status_code == 400
    parts = parse_batch(response)
    assert [part.status for part in parts] == [204, 400]
    assert parts[1].body["error"]["code"] == "0x80044331"
    assert _contacts(org, "First") and not _contacts(org, "Third")


async def test_with_continue_on_error_every_request_runs(alice, org):
    body = batch_body(
        request_part("POST", f"{PATH}/contacts", {"lastname": "x" * 51}),
        request_part("POST", f"{PATH}/contacts", {"lastname": "Second"}),
        request_part("GET", f"{PATH}/WhoAmI"),
    )
    response = await _post_batch(alice, body, continue_on_error=True)
    assert response.status_code == 200
    parts = parse_batch(response)
    assert [part.status for part in parts] == [400, 204, 200]
    assert parts[2].headers["content-type"] == "application/json; odata.metadata=minimal; odata.streaming=true"
    assert parts[2].body["UserId"] == ALICE.systemuser_id
    assert _contacts(org, "Second")


async def test_a_failed_change_set_does_not_stop_the_batch_with_continue_on_error(alice, org):
    body = batch_body(
        change_set(request_part("POST", f"{PATH}/contacts", {"lastname": "Undone"}, content_id="1"),
                   request_part("POST", f"{PATH}/bogus", {}, content_id="2")),
        request_part("POST", f"{PATH}/contacts", {"lastname": "Done"}),
    )
    response = await _post_batch(alice, body, continue_on_error=True)
    parts = parse_batch(response)
    assert [part.status for part in parts] == [404, 204]
    assert not _contacts(org, "Undone") and _contacts(org, "Done")


async def test_reads_answer_with_their_json_and_absolute_urls_work(alice, org):
    account = next(row for row in org.rows["account"].values() if row["ownerid"].id == ALICE.systemuser_id)
    body = batch_body(request_part("GET", f"{BASE_URL}/api/data/v9.2/accounts({account['accountid']})?$select=name"))
    [part] = parse_batch(await _post_batch(alice, body))
    assert part.status == 200 and part.body["name"] == account["name"]
    assert part.body["@odata.context"].endswith("$metadata#accounts(name)/$entity")


async def test_a_reference_to_a_later_content_id_refuses_the_whole_batch(alice, org):
    body = batch_body(
        request_part("POST", f"{PATH}/contacts", {"lastname": "Before"}),
        change_set(
            request_part("POST", f"{PATH}/accounts", {"name": "Early", "primarycontactid@odata.bind": "$2"},
                         content_id="1"),
            request_part("POST", f"{PATH}/contacts", {"lastname": "Late"}, content_id="2")))
    response = await _post_batch(alice, body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Content-ID Reference: '$2' does not exist in the batch context."
    assert not _contacts(org, "Late") and not _contacts(org, "Before")


async def test_a_reference_in_the_url_to_an_unknown_content_id_refuses_the_batch(alice):
    body = batch_body(change_set(request_part("PATCH", "$7", {"lastname": "x"}, content_id="1")))
    response = await _post_batch(alice, body)
    assert response.status_code == 400 and "'$7' does not exist" in response.json()["error"]["message"]


async def test_patch_of_a_created_record_answers_with_its_location(alice, org):
    body = batch_body(change_set(
        request_part("POST", f"{PATH}/contacts", {"lastname": "Draft"}, content_id="1"),
        request_part("PATCH", "$1", {"lastname": "Final"}, content_id="2"),
    ))
    [changes] = parse_batch(await _post_batch(alice, body))
    assert changes.parts[1].status == 204 and changes.parts[1].headers["location"].startswith(BASE_URL)
    assert _contacts(org, "Final") and not _contacts(org, "Draft")


async def test_a_single_property_of_a_created_record_is_set_through_its_reference(alice, org):
    """`PUT $1/lastname {"value": "BBBBB"}` (PD execute-batch-operations-using-web-api.md) answers 204 without
    Location, through the single-property route; the change set's records are audited as the caller."""
    body = batch_body(change_set(
        request_part("POST", f"{PATH}/contacts", {"firstname": "Batch", "lastname": "AAAAA"}, content_id="1"),
        request_part("PUT", "$1/lastname", {"value": "BBBBB"}, content_id="2"),
    ))
    [changes] = parse_batch(await _post_batch(alice, body))
    assert [part.status for part in changes.parts] == [204, 204]
    assert "location" not in changes.parts[1].headers
    [contact] = _contacts(org, "BBBBB")
    assert contact["fullname"] == "Batch BBBBB"
    history = org.audit.history("contact", contact["contactid"])
    assert [(entry.action, entry.user_id) for entry in history] == [(2, ALICE.systemuser_id),
                                                                     (1, ALICE.systemuser_id)]
    assert (history[0].old["lastname"], history[0].new["lastname"]) == ("AAAAA", "BBBBB")


async def test_rules_and_security_apply_inside_a_batch(alice, org):
    mine = next(row for row in org.rows["opportunity"].values()
                if row["ownerid"].id == ALICE.systemuser_id and row["statecode"] == 0)
    bobs = next(row for row in org.rows["opportunity"].values() if row["ownerid"].id == BOB.systemuser_id)
    body = batch_body(
        request_part("PATCH", f"{PATH}/opportunities({mine['opportunityid']})", {"statecode": 1},
                     headers={"If-Match": "*"}),
        request_part("PATCH", f"{PATH}/opportunities({bobs['opportunityid']})", {"name": "Mine now"},
                     headers={"If-Match": "*"}),
        request_part("POST", f"{PATH}/WinOpportunity", {"Status": 3, "OpportunityClose": {
            "subject": "Won in a batch", "opportunityid@odata.bind": f"/opportunities({mine['opportunityid']})"}}),
    )
    parts = parse_batch(await _post_batch(alice, body, continue_on_error=True))
    assert [part.status for part in parts] == [400, 404, 204]
    assert parts[0].body["error"]["code"] == "0x80100005"
    assert org.rows["opportunity"][mine["opportunityid"]]["statecode"] == 1


async def test_get_inside_a_change_set_is_refused(alice):
    body = batch_body(change_set(request_part("GET", f"{PATH}/WhoAmI", content_id="1")))
    response = await _post_batch(alice, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80048d19"


async def test_a_body_whose_last_line_lacks_crlf_is_not_readable(alice):
    body = batch_body(request_part("GET", f"{PATH}/WhoAmI")).rstrip(b"\r\n")
    response = await alice.post(f"{API}/$batch", content=body, headers=batch_headers())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80048d19" and error["message"].endswith("Stream was not readable.")


async def test_a_quoted_boundary_and_a_get_on_batch_behave(alice):
    body = batch_body(request_part("GET", f"{PATH}/WhoAmI"))
    quoted = await alice.post(f"{API}/$batch", content=body,
                              headers={"Content-Type": f'multipart/mixed; boundary="{BATCH}"'})
    assert quoted.status_code == 200 and parse_batch(quoted)[0].status == 200
    assert (await alice.get(f"{API}/$batch")).status_code == 404


async def test_more_than_a_thousand_operations_are_refused(alice):
    body = batch_body(*[request_part("GET", f"{PATH}/WhoAmI") for _ in range(1001)])
    response = await _post_batch(alice, body)
    assert response.status_code == 400
