"""WinOpportunity and LoseOpportunity over HTTP: 204 with no body; the opportunity closed with the status given, its
actual revenue (the estimate by default on a win) and close date; a completed opportunityclose activity recorded;
the errors for closed, hidden and read-only opportunities, wrong statuses and parameters; all or nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue, SandboxError
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID


def _open(org, user) -> dict:
    return next(row for row in org.rows["opportunity"].values()
                if row["ownerid"].id == user.systemuser_id and row["statecode"] == 0)


def _close(opportunity_id: str, **extra) -> dict:
    return {"subject": "Closed", "opportunityid@odata.bind": f"/opportunities({opportunity_id})", **extra}


def _closes_of(org, opportunity_id: str) -> list[dict]:
    return [row for row in org.rows["opportunityclose"].values()
            if row["opportunityid"] == LookupValue("opportunity", opportunity_id)]


async def test_win_closes_the_opportunity_as_won_and_records_the_close(alice, org):
    opportunity = _open(org, ALICE)
    opportunity_id = opportunity["opportunityid"]
    response = await alice.post(f"{API}/WinOpportunity", json={
        "Status": 3, "OpportunityClose": {"subject": "Won Opportunity",
                                          "opportunityid@odata.bind": f"{BASE_URL}/api/data/v9.2/opportunities("
                                                                      f"{opportunity_id})"}})
    assert response.status_code == 204 and response.content == b""
    assert response.headers["odata-version"] == "4.0"
    row = org.rows["opportunity"][opportunity_id]
    assert (row["statecode"], row["statuscode"]) == (1, 3)
    assert row["actualvalue"] == opportunity["estimatedvalue"]
    assert row["actualclosedate"] == date(2026, 11, 18)
    [close] = _closes_of(org, opportunity_id)
    assert close["subject"] == "Won Opportunity" and close["actualrevenue"] == opportunity["estimatedvalue"]
    assert (close["statecode"], close["statuscode"]) == (1, 2)
    assert close["ownerid"] == LookupValue("systemuser", ALICE.systemuser_id)
    assert close["activitytypecode"] == "opportunityclose"


async def test_win_takes_the_given_revenue_and_end_date(alice, org):
    opportunity_id = _open(org, ALICE)["opportunityid"]
    response = await alice.post(f"{API}/WinOpportunity", json={"Status": -1, "OpportunityClose": _close(
        opportunity_id, actualrevenue=42000, actualend="2026-11-02T15:00:00Z", description="Signed")})
    assert response.status_code == 204, response.text
    row = org.rows["opportunity"][opportunity_id]
    assert (row["statuscode"], row["actualvalue"], row["actualclosedate"]) == (3, 42000.0, date(2026, 11, 2))
    [close] = _closes_of(org, opportunity_id)
    assert close["description"] == "Signed" and close["actualrevenue"] == 42000.0


async def test_the_close_activity_is_readable_like_any_activity(alice, org):
    opportunity_id = _open(org, ALICE)["opportunityid"]
    await alice.post(f"{API}/WinOpportunity", json={"Status": 3, "OpportunityClose": _close(opportunity_id)})
    body = (await alice.get(f"{API}/opportunitycloses?$select=subject,actualrevenue"
                            f"&$filter=_opportunityid_value eq {opportunity_id}")).json()
    assert [row["subject"] for row in body["value"]] == ["Closed"]
    pointers = (await alice.get(f"{API}/activitypointers?$select=activitytypecode"
                                f"&$filter=activityid eq {body['value'][0]['activityid']}")).json()
    assert pointers["value"][0]["activitytypecode"] == "opportunityclose"


async def test_lose_records_the_status_and_the_competitor(alice, org):
    opportunity_id = _open(org, ALICE)["opportunityid"]
    competitor_id = next(iter(org.rows["competitor"]))
    response = await alice.post(f"{API}/LoseOpportunity", json={"Status": 5, "OpportunityClose": _close(
        opportunity_id, **{"competitorid@odata.bind": f"/competitors({competitor_id})"})})
    assert response.status_code == 204, response.text
    row = org.rows["opportunity"][opportunity_id]
    assert (row["statecode"], row["statuscode"]) == (2, 5)
    [close] = _closes_of(org, opportunity_id)
    assert close["competitorid"] == LookupValue("competitor", competitor_id)


@pytest.mark.parametrize(("action", "status", "state"), [("WinOpportunity", 4, "Won"), ("LoseOpportunity", 3, "Lost")])
async def test_a_status_of_the_other_state_is_refused_and_nothing_changes(alice, org, action, status, state):
    opportunity_id = _open(org, ALICE)["opportunityid"]
    response = await alice.post(f"{API}/{action}", json={"Status": status,
                                                         "OpportunityClose": _close(opportunity_id)})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80048408",
        "message": f"{status} is not a valid status code for state code OpportunityState.{state} on opportunity "
                   f"with Id {opportunity_id}."}
    assert org.rows["opportunity"][opportunity_id]["statecode"] == 0
    assert _closes_of(org, opportunity_id) == []


async def test_closing_an_already_closed_opportunity_is_refused(alice, org):
    won = next(row for row in org.rows["opportunity"].values()
               if row["ownerid"].id == ALICE.systemuser_id and row["statecode"] == 1)
    response = await alice.post(f"{API}/LoseOpportunity", json={"Status": 4,
                                                                "OpportunityClose": _close(won["opportunityid"])})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "0x80040515", "message": "The opportunity is already closed."}


async def test_another_reps_opportunity_is_not_found(alice, org):
    hidden = _open(org, BOB)["opportunityid"]
    response = await alice.post(f"{API}/WinOpportunity", json={"Status": 3, "OpportunityClose": _close(hidden)})
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217"
    assert org.rows["opportunity"][hidden]["statecode"] == 0


async def test_a_read_only_shared_opportunity_cannot_be_closed(alice, org):
    carols = _open(org, CAROL)["opportunityid"]
    org.share_with("opportunity", carols, SANDBOX_TEAM_ID)
    response = await alice.post(f"{API}/WinOpportunity", json={"Status": 3, "OpportunityClose": _close(carols)})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "0x80040220"
    assert error["message"].startswith(f"Principal user (Id={ALICE.systemuser_id}, type=8) is missing "
                                       "prvWriteOpportunity privilege (Id=")
    assert error["message"].endswith("on OTC=3 for entity 'opportunity'.")
    assert _closes_of(org, carols) == []


async def test_the_manager_closes_any_opportunity(carol, org):
    bobs = _open(org, BOB)["opportunityid"]
    response = await carol.post(f"{API}/LoseOpportunity", json={"Status": 4, "OpportunityClose": _close(bobs)})
    assert response.status_code == 204
    assert _closes_of(org, bobs)[0]["ownerid"] == LookupValue("systemuser", CAROL.systemuser_id)


async def test_when_closing_the_opportunity_fails_the_close_activity_is_rolled_back(alice, org, monkeypatch):
    opportunity_id = _open(org, ALICE)["opportunityid"]
    store = org.put_row

    def failing_put_row(logical_name, row, **options):  # the close activity is stored, the opportunity is not
        if logical_name == "opportunity":
            raise SandboxError(400, "0x80040203", "The opportunity could not be saved.")
        return store(logical_name, row, **options)

    monkeypatch.setattr(org, "put_row", failing_put_row)
    audits = dict(org.rows["audit"])
    response = await alice.post(f"{API}/WinOpportunity", json={"Status": 3,
                                                               "OpportunityClose": _close(opportunity_id)})
    assert response.status_code == 400
    assert _closes_of(org, opportunity_id) == []
    assert org.rows["opportunity"][opportunity_id]["statecode"] == 0
    assert org.rows["audit"] == audits  # the close activity's Create entry went with it


@pytest.mark.parametrize(("body", "code"), [
    ({"OpportunityClose": {"subject": "x"}}, "0x80040203"),  # Status missing
    ({"Status": 3, "OpportunityClose": {"subject": "x"}, "status": 3}, "0x80048d19"),  # names are case-sensitive
    ({"Status": "Won", "OpportunityClose": {"subject": "x"}}, "0x80040203"),
])
async def test_bad_parameters_are_400(alice, body, code):
    response = await alice.post(f"{API}/WinOpportunity", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


async def test_an_action_called_with_get_is_404_no_http_resource(alice):
    response = await alice.get(f"{API}/WinOpportunity")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "", "message": "No HTTP resource was found that matches the request "
                                                               f"URI '{BASE_URL}/api/data/v9.2/WinOpportunity'."}


async def test_an_unbound_action_with_its_namespace_is_an_unknown_segment(alice):
    response = await alice.post(f"{API}/Microsoft.Dynamics.CRM.WinOpportunity", json={})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "0x8006088a", "message": "Resource not found for the segment 'Microsoft.Dynamics.CRM.WinOpportunity'."}


async def test_operation_names_are_case_sensitive(alice):
    response = await alice.post(f"{API}/winopportunity", json={})
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x8006088a"
