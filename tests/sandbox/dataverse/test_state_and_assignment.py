"""State rules of the Update message and assignment by PATCH, as Dataverse applies them: an opportunity is closed
only by WinOpportunity/LoseOpportunity (0x80100005), reopened by a plain PATCH; a status reason must belong to its
state (0x80048408); leads are disqualified by a plain PATCH; `ownerid@odata.bind` assigns a record and row security
follows the new owner; assigning what one may not change is a 403 naming the missing privilege."""

from __future__ import annotations

import re

import pytest
from sandbox_dataverse_support import API

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID

IF_EXISTS = {"If-Match": "*"}
PRIVILEGE_MESSAGE = re.compile(
    r"^Principal user \(Id=(?P<user>[0-9a-f-]{36}), type=8\) is missing (?P<privilege>prv\w+) privilege "
    r"\(Id=[0-9a-f-]{36}\) on OTC=(?P<otc>\d+) for entity '(?P<table>\w+)'\.$")


def _owned(org, table: str, user, **where) -> dict:
    return next(row for row in org.rows[table].values() if row["ownerid"].id == user.systemuser_id
                and all(row[key] == value for key, value in where.items()))


@pytest.mark.parametrize(("state", "label", "message"), [(1, "Won", "WinOpportunity"), (2, "Lost", "LoseOpportunity")])
async def test_closing_an_opportunity_by_patch_is_refused(alice, org, state, label, message):
    opportunity = _owned(org, "opportunity", ALICE, statecode=0)
    response = await alice.patch(f"{API}/opportunities({opportunity['opportunityid']})",
                                 json={"statecode": state, "statuscode": 3 if state == 1 else 4}, headers=IF_EXISTS)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80100005",
        "message": f"This message can not be used to set the state of opportunity to {label}. In order to set state "
                   f"of opportunity to {label}, use the {message} message instead."}
    assert org.rows["opportunity"][opportunity["opportunityid"]]["statecode"] == 0


async def test_creating_a_won_opportunity_is_refused_too(alice):
    response = await alice.post(f"{API}/opportunities", json={"name": "Born won", "statecode": 1, "statuscode": 3})
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80100005"


async def test_a_won_opportunity_is_reopened_by_patch(alice, org):
    won = _owned(org, "opportunity", ALICE, statecode=1)
    response = await alice.patch(f"{API}/opportunities({won['opportunityid']})",
                                 json={"statecode": 0, "statuscode": 1}, headers=IF_EXISTS)
    assert response.status_code == 204
    row = org.rows["opportunity"][won["opportunityid"]]
    assert (row["statecode"], row["statuscode"]) == (0, 1)


async def test_won_to_lost_by_patch_is_refused(alice, org):
    won = _owned(org, "opportunity", ALICE, statecode=1)
    response = await alice.patch(f"{API}/opportunities({won['opportunityid']})",
                                 json={"statecode": 2, "statuscode": 4}, headers=IF_EXISTS)
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80100005"


async def test_a_status_reason_of_another_state_is_refused(alice, org):
    opportunity = _owned(org, "opportunity", ALICE, statecode=0)
    response = await alice.patch(f"{API}/opportunities({opportunity['opportunityid']})", json={"statuscode": 5},
                                 headers=IF_EXISTS)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80048408"
    assert error["message"] == (f"5 is not a valid status code for state code OpportunityState.Open on opportunity "
                                f"with Id {opportunity['opportunityid']}.")


async def test_a_lead_is_disqualified_by_a_plain_patch(alice, org):
    lead = _owned(org, "lead", ALICE, statecode=0)
    response = await alice.patch(f"{API}/leads({lead['leadid']})", json={"statecode": 2, "statuscode": 6},
                                 headers=IF_EXISTS)
    assert response.status_code == 204
    row = org.rows["lead"][lead["leadid"]]
    assert (row["statecode"], row["statuscode"]) == (2, 6)


async def test_disqualifying_a_lead_with_a_qualified_status_is_refused(alice, org):
    lead = _owned(org, "lead", ALICE, statecode=0)
    response = await alice.patch(f"{API}/leads({lead['leadid']})", json={"statecode": 2, "statuscode": 3},
                                 headers=IF_EXISTS)
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80048408"
    assert "LeadState.Disqualified" in response.json()["error"]["message"]


async def test_assigning_to_another_user_hands_the_record_over(alice, bob, org):
    account = _owned(org, "account", ALICE)
    url = f"{API}/accounts({account['accountid']})"
    response = await alice.patch(url, json={"ownerid@odata.bind": f"/systemusers({BOB.systemuser_id})"},
                                 headers=IF_EXISTS)
    assert response.status_code == 204
    assert org.rows["account"][account["accountid"]]["ownerid"] == LookupValue("systemuser", BOB.systemuser_id)
    assert (await alice.get(url)).status_code == 404
    assert (await bob.get(url)).status_code == 200


async def test_assigning_to_ones_team_keeps_the_record_visible(alice, org):
    opportunity = _owned(org, "opportunity", ALICE, statecode=0)
    url = f"{API}/opportunities({opportunity['opportunityid']})"
    response = await alice.patch(url, json={"ownerid@odata.bind": f"/teams({SANDBOX_TEAM_ID})"}, headers=IF_EXISTS)
    assert response.status_code == 204
    body = (await alice.get(f"{url}?$select=_ownerid_value",
                            headers={"Prefer": 'odata.include-annotations="*"'})).json()
    assert body["_ownerid_value"] == SANDBOX_TEAM_ID
    assert body["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "team"


async def test_assigning_a_read_only_shared_record_is_403_naming_prv_assign(alice, org):
    shared = next(org.rows["account"][row_id] for (name, row_id), principals in org.shares.items()
                  if name == "account" and SANDBOX_TEAM_ID in principals)
    response = await alice.patch(f"{API}/accounts({shared['accountid']})",
                                 json={"ownerid@odata.bind": f"/systemusers({ALICE.systemuser_id})"}, headers=IF_EXISTS)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "0x80040220"
    match = PRIVILEGE_MESSAGE.match(error["message"])
    assert match, error["message"]
    assert match.groupdict() == {"user": ALICE.systemuser_id, "privilege": "prvAssignAccount", "otc": "1",
                                 "table": "account"}
    assert org.rows["account"][shared["accountid"]]["ownerid"].id == CAROL.systemuser_id


async def test_assigning_a_record_one_cannot_see_is_404(alice, org):
    bobs = _owned(org, "opportunity", BOB)
    response = await alice.patch(f"{API}/opportunities({bobs['opportunityid']})",
                                 json={"ownerid@odata.bind": f"/systemusers({ALICE.systemuser_id})"}, headers=IF_EXISTS)
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x80040217"


async def test_the_manager_assigns_any_record(carol, alice, org):
    bobs = _owned(org, "opportunity", BOB)
    url = f"{API}/opportunities({bobs['opportunityid']})"
    response = await carol.patch(url, json={"ownerid@odata.bind": f"/systemusers({ALICE.systemuser_id})"},
                                 headers=IF_EXISTS)
    assert response.status_code == 204
    assert (await alice.get(url)).status_code == 200


async def test_updating_a_read_only_shared_record_names_prv_write(alice, org):
    shared = next(org.rows["account"][row_id] for (name, row_id), principals in org.shares.items()
                  if name == "account" and SANDBOX_TEAM_ID in principals)
    response = await alice.patch(f"{API}/accounts({shared['accountid']})", json={"name": "x"}, headers=IF_EXISTS)
    assert response.status_code == 403
    assert PRIVILEGE_MESSAGE.match(response.json()["error"]["message"]).group("privilege") == "prvWriteAccount"
