"""$ref on the wire, from the documented examples: associate (POST .../{nav}/$ref with an absolute @odata.id),
disassociate (DELETE .../{nav}({id})/$ref, or .../{nav}/$ref for a single-valued one), set_reference (PUT); and
which of them are retried."""

from __future__ import annotations

import json

import httpx
import pytest

from dataverse.webapi import BadRequestError, NotFoundError, OutcomeUnknownError

API = "https://contoso.crm.dynamics.com/api/data/v9.2/"
ACCOUNT = "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d"
CONTACT = "5e000000-0000-4000-8000-0000000c0c0c"
OPPORTUNITY = "b3828ac8-917a-e511-80d2-00155d2a68d2"
COMPETITOR = "77f77a42-5f0e-e611-80e0-00155da84c03"
NO_CONTENT = httpx.Response(204, headers={"OData-Version": "4.0"})
UNAVAILABLE = httpx.Response(503, json={"error": {"code": "", "message": "Service Unavailable"}})


async def test_associate_posts_the_documented_reference(harness):
    h = harness(NO_CONTENT)
    await h.client.associate("accounts", ACCOUNT, "contact_customer_accounts", target_set="contacts",
                             target_id=CONTACT)
    assert (h.last.method, str(h.last.url)) == ("POST", f"{API}accounts({ACCOUNT})/contact_customer_accounts/$ref")
    assert json.loads(h.last.content) == {"@odata.id": f"{API}contacts({CONTACT})"}
    assert h.last.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_n_to_n_is_the_same_form(harness):
    h = harness(NO_CONTENT)
    await h.client.associate("opportunities", OPPORTUNITY, "opportunitycompetitors_association",
                             target_set="competitors", target_id=COMPETITOR)
    assert h.path() == f"/api/data/v9.2/opportunities({OPPORTUNITY})/opportunitycompetitors_association/$ref"
    assert json.loads(h.last.content) == {"@odata.id": f"{API}competitors({COMPETITOR})"}


async def test_disassociate_names_the_record_in_the_path(harness):
    h = harness(NO_CONTENT)
    await h.client.disassociate("accounts", ACCOUNT, "contact_customer_accounts", target_id=CONTACT.upper())
    assert (h.last.method, h.path()) == (
        "DELETE", f"/api/data/v9.2/accounts({ACCOUNT})/contact_customer_accounts({CONTACT})/$ref")
    assert h.last.content == b""


async def test_a_single_valued_navigation_is_set_with_put_and_cleared_with_delete(harness):
    h = harness(NO_CONTENT)
    await h.client.set_reference("opportunities", OPPORTUNITY, "customerid_account", target_set="accounts",
                                 target_id=ACCOUNT)
    put = h.last
    await h.client.disassociate("opportunities", OPPORTUNITY, "customerid_account")
    assert (put.method, str(put.url)) == ("PUT", f"{API}opportunities({OPPORTUNITY})/customerid_account/$ref")
    assert json.loads(put.content) == {"@odata.id": f"{API}accounts({ACCOUNT})"}
    assert (h.last.method, h.path()) == ("DELETE", f"/api/data/v9.2/opportunities({OPPORTUNITY})/customerid_account"
                                                   "/$ref")


async def test_associate_is_sent_once_and_an_unanswered_one_is_an_unknown_outcome(harness):
    h = harness(UNAVAILABLE)
    with pytest.raises(OutcomeUnknownError, match="see whether the link exists"):
        await h.client.associate("accounts", ACCOUNT, "contact_customer_accounts", target_set="contacts",
                                 target_id=CONTACT)
    assert len(h.requests) == 1


async def test_disassociate_is_sent_once(harness):
    h = harness(httpx.ReadTimeout("lost"))
    with pytest.raises(OutcomeUnknownError):
        await h.client.disassociate("accounts", ACCOUNT, "contact_customer_accounts", target_id=CONTACT)
    assert len(h.requests) == 1


async def test_set_reference_is_retried_like_an_update(harness):
    h = harness(UNAVAILABLE, NO_CONTENT)
    await h.client.set_reference("opportunities", OPPORTUNITY, "customerid_account", target_set="accounts",
                                 target_id=ACCOUNT)
    assert len(h.requests) == 2


async def test_the_documented_errors_arrive_as_their_types(harness):
    h = harness(httpx.Response(404, json={"error": {"code": "0x8006088a", "message":
                                                    "Resource not found for the segment 'bogus'."}}),
                httpx.Response(400, json={"error": {"code": "0x8006088a", "message":
                                                    "The URI segment '$ref' is invalid after the segment "
                                                    "'parentcustomerid'."}}))
    with pytest.raises(NotFoundError):
        await h.client.associate("accounts", ACCOUNT, "bogus", target_set="contacts", target_id=CONTACT)
    with pytest.raises(BadRequestError, match="invalid after the segment 'parentcustomerid'"):
        await h.client.set_reference("contacts", CONTACT, "parentcustomerid", target_set="accounts",
                                     target_id=ACCOUNT)


@pytest.mark.parametrize("navigation", ["contact_customer_accounts/../x", "nav?$x=1", "nav(1)", ""])
async def test_a_navigation_that_could_change_the_path_is_refused(harness, navigation):
    h = harness(NO_CONTENT)
    with pytest.raises(ValueError):
        await h.client.associate("accounts", ACCOUNT, navigation, target_set="contacts", target_id=CONTACT)
    assert h.requests == []
