"""Row security and sign-in: reps see their own, their team's and team-shared records; the manager sees all; other
records are absent from queries and 404 on retrieve; writes to read-only shares are 403; bad tokens are 401 with an
empty body and WWW-Authenticate; a signed-in stranger is 403."""

from __future__ import annotations

import httpx
import pytest
from sandbox_dataverse_support import API, BASE_URL, HOST, token_for

from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID, SandboxUser


def _owned_by(org, table: str, user: SandboxUser) -> list[dict]:
    return [row for row in org.rows[table].values() if row["ownerid"].id == user.systemuser_id]


def _shared_with_team(org, table: str) -> list[dict]:
    return [org.rows[table][row_id] for (name, row_id), principals in org.shares.items()
            if name == table and SANDBOX_TEAM_ID in principals]


async def _ids(client: httpx.AsyncClient, entity_set: str, key: str) -> set[str]:
    body = (await client.get(f"{API}/{entity_set}?$select={key}")).json()
    return {row[key] for row in body["value"]}


async def test_rep_reads_own_team_owned_and_shared_accounts_only(alice, org):
    expected = {row["accountid"] for row in org.rows["account"].values()
                if row["ownerid"].id in (ALICE.systemuser_id, SANDBOX_TEAM_ID)}
    expected |= {row["accountid"] for row in _shared_with_team(org, "account")}
    seen = await _ids(alice, "accounts", "accountid")
    assert seen == expected
    assert not seen & {row["accountid"] for row in _owned_by(org, "account", BOB)}


async def test_reps_see_different_opportunities_and_the_manager_sees_all(alice, bob, carol, org):
    alice_ids = await _ids(alice, "opportunities", "opportunityid")
    bob_ids = await _ids(bob, "opportunities", "opportunityid")
    carol_ids = await _ids(carol, "opportunities", "opportunityid")
    assert alice_ids == {row["opportunityid"] for row in _owned_by(org, "opportunity", ALICE)}
    assert bob_ids == {row["opportunityid"] for row in _owned_by(org, "opportunity", BOB)}
    assert not alice_ids & bob_ids
    assert carol_ids == set(org.rows["opportunity"])


async def test_another_reps_record_is_404_on_retrieve(alice, org):
    bobs = _owned_by(org, "opportunity", BOB)[0]
    response = await alice.get(f"{API}/opportunities({bobs['opportunityid']})")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "0x80040217"


async def test_filter_cannot_reach_hidden_rows(alice, org):
    bobs = _owned_by(org, "opportunity", BOB)[0]
    body = (await alice.get(f"{API}/opportunities?$filter=opportunityid eq {bobs['opportunityid']}")).json()
    assert body["value"] == []


async def test_expand_to_a_hidden_record_is_null(alice, org):
    hidden = _owned_by(org, "contact", BOB)[0]
    account = _owned_by(org, "account", ALICE)[0]
    account["primarycontactid"] = type(account["primarycontactid"])("contact", hidden["contactid"])
    body = (await alice.get(f"{API}/accounts({account['accountid']})?$select=name"
                            "&$expand=primarycontactid($select=fullname)")).json()
    assert body["primarycontactid"] is None


async def test_shared_account_is_readable_but_not_writable_by_a_rep(alice, carol, org):
    shared = _shared_with_team(org, "account")[0]
    url = f"{API}/accounts({shared['accountid']})"
    assert (await alice.get(url)).status_code == 200
    update = await alice.patch(url, json={"name": "Hijacked"}, headers={"If-Match": "*"})
    assert update.status_code == 403
    assert update.json()["error"]["code"] == "0x80040220"
    delete = await alice.delete(url)
    assert delete.status_code == 403
    assert org.rows["account"][shared["accountid"]]["name"] != "Hijacked"
    assert (await carol.patch(url, json={"name": "Renamed by manager"})).status_code == 204


async def test_rep_cannot_update_or_delete_another_reps_record(alice, org):
    bobs = _owned_by(org, "account", BOB)[0]
    url = f"{API}/accounts({bobs['accountid']})"
    assert (await alice.patch(url, json={"name": "x"}, headers={"If-Match": "*"})).status_code == 404
    assert (await alice.delete(url)).status_code == 404
    assert bobs["accountid"] in org.rows["account"]


async def test_rep_sees_only_their_own_usersettings(alice):
    own = await alice.get(f"{API}/usersettingscollection({ALICE.systemuser_id})?$select=timezonecode")
    assert own.json()["timezonecode"] == ALICE.timezone_code
    other = await alice.get(f"{API}/usersettingscollection({CAROL.systemuser_id})?$select=timezonecode")
    assert other.status_code == 404


async def test_rep_reads_directory_tables_but_cannot_change_them(alice):
    users = await _ids(alice, "systemusers", "systemuserid")
    assert users == {ALICE.systemuser_id, BOB.systemuser_id, CAROL.systemuser_id}
    response = await alice.patch(f"{API}/systemusers({BOB.systemuser_id})", json={"title": "CEO"})
    assert response.status_code == 403


async def test_rep_cannot_give_a_new_record_to_someone_else(alice):
    response = await alice.post(f"{API}/accounts", json={
        "name": "Gift", "ownerid@odata.bind": f"/systemusers({BOB.systemuser_id})"})
    assert response.status_code == 403


async def test_missing_token_is_401_with_empty_body_and_challenge(anonymous):
    response = await anonymous.get(f"{API}/accounts")
    assert response.status_code == 401
    assert response.content == b""
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer authorization_uri=") and f"resource_id={BASE_URL}/" in challenge


@pytest.mark.parametrize("token", [
    "not-a-jwt",
    token_for(ALICE, audience="https://someone-else.crm.dynamics.com"),
    token_for(ALICE, lifetime_seconds=-3600),
])
async def test_invalid_tokens_are_401(anonymous, token):
    response = await anonymous.get(f"{API}/WhoAmI", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.content == b""


async def test_token_signed_by_another_key_is_401(anonymous):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from dataverse.sandbox.identity import SigningKey, mint_user_token

    forger = SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "forged")
    token = mint_user_token(ALICE, audience=BASE_URL, issuer="x", scopes=[], client_id="x", key=forger)
    response = await anonymous.get(f"{API}/WhoAmI", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_token_audience_with_trailing_slash_is_accepted(anonymous):
    token = token_for(ALICE, audience=BASE_URL + "/")
    response = await anonymous.get(f"{API}/WhoAmI", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_unknown_user_is_403_not_a_member(anonymous):
    stranger = SandboxUser("eve", "Eve Evil", "eve@x", "e7e00000-0000-4000-8000-000000000666",
                           "5e000000-0000-4000-8000-000000000e7e", "rep", 85, "Europe/London")
    response = await anonymous.get(f"{API}/WhoAmI", headers={"Authorization": f"Bearer {token_for(stranger)}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80072560"


async def test_whoami_names_the_caller(alice, bob, org):
    for client, user in ((alice, ALICE), (bob, BOB)):
        body = (await client.get(f"{API}/WhoAmI")).json()
        assert body["UserId"] == user.systemuser_id
        assert body["BusinessUnitId"] == org.business_unit_id
        assert body["OrganizationId"] == org.organization_id
    profile = (await alice.get(f"{API}/systemusers({ALICE.systemuser_id})?$select=fullname,internalemailaddress"))
    assert profile.json()["fullname"] == "Alice Anders"
    assert profile.json()["internalemailaddress"] == ALICE.upn
    assert HOST in profile.json()["@odata.context"]
