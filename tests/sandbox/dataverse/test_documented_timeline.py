"""Where the documented write shapes meet the timeline and the audit log: a deep-inserted email takes its
`email_activity_parties` as an activity takes them (not as a deep insert of activityparty rows, which Dataverse does
not create directly); a failed deep insert leaves neither rows nor audit entries; a single-property update is audited
and refused on the read-only activitypointer twin; the emails seeded for the documented examples have parties and a
seeded Create, and stay off the accounts the timeline keeps active only through their contacts and deals."""

from __future__ import annotations

import re

from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.seed_timeline import NEW_ACCOUNTS
from dataverse.sandbox.users import ALICE

ENTITY_ID = re.compile(rf"^{re.escape(BASE_URL)}/api/data/v9\.2/(\w+)\(([0-9a-f-]{{36}})\)$")


def _alices(org, table: str) -> dict:
    return next(row for row in org.rows[table].values() if row["ownerid"].id == ALICE.systemuser_id)


def _deal_with_an_email(account: dict, contact: dict, mask: int = 2) -> dict:
    return {"name": "Deep deal", "customerid_account@odata.bind": f"/accounts({account['accountid']})",
            "Opportunity_Emails": [{"subject": "Deep mail", "directioncode": True, "email_activity_parties": [
                {"partyid_systemuser@odata.bind": f"/systemusers({ALICE.systemuser_id})", "participationtypemask": 1},
                {"partyid_contact@odata.bind": f"/contacts({contact['contactid']})", "participationtypemask": mask},
            ]}]}


async def test_a_deep_inserted_email_takes_its_activity_parties(alice, org):
    created = await alice.post(f"{API}/opportunities", json=_deal_with_an_email(_alices(org, "account"),
                                                                                _alices(org, "contact")))
    assert created.status_code == 204, created.text
    deal_id = ENTITY_ID.match(created.headers["odata-entityid"]).group(2)
    emails = (await alice.get(f"{API}/opportunities({deal_id})/Opportunity_Emails?$select=subject")).json()["value"]
    assert [email["subject"] for email in emails] == ["Deep mail"]
    parties = (await alice.get(f"{API}/emails({emails[0]['activityid']})/email_activity_parties")).json()["value"]
    assert sorted(party["participationtypemask"] for party in parties) == [1, 2]
    assert all(party["partyidname"] for party in parties)
    count = await alice.get(f"{API}/emails({emails[0]['activityid']})/email_activity_parties/$count")
    assert count.text.lstrip("\ufeff") == "2"
    assert [entry.action for entry in org.audit.history("email", emails[0]["activityid"])] == [1]


async def test_a_failed_deep_insert_leaves_no_rows_and_no_audit_entries(alice, org):
    before = (org.audit.checkpoint(), len(org.rows["audit"]), len(org.rows["opportunity"]), len(org.rows["email"]))
    refused = await alice.post(f"{API}/opportunities", json=_deal_with_an_email(_alices(org, "account"),
                                                                                _alices(org, "contact"), mask=99))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "0x80094006"
    after = (org.audit.checkpoint(), len(org.rows["audit"]), len(org.rows["opportunity"]), len(org.rows["email"]))
    assert after == before


async def test_a_single_property_update_is_audited_and_the_twin_refuses_it(alice, org):
    task = _alices(org, "task")
    assert (await alice.put(f"{API}/tasks({task['activityid']})/subject", json={"value": "Renamed"})).status_code == 204
    latest = org.audit.history("task", task["activityid"])[0]
    assert latest.action == 2 and latest.new == {"subject": "Renamed"}
    refused = await alice.put(f"{API}/activitypointers({task['activityid']})/subject", json={"value": "Again"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "0x80040800"


def test_the_documented_emails_have_parties_and_a_seeded_create_and_skip_the_reached_through_accounts(org):
    documented = [email for email in org.rows["email"].values() if email["regardingobjectid"].table == "account"]
    assert documented
    reached_through = {row["accountid"] for row in org.rows["account"].values() if row["name"] in NEW_ACCOUNTS}
    assert not {email["regardingobjectid"].id for email in documented} & reached_through
    for email in documented:
        parties = [party for party in org.rows["activityparty"].values()
                   if party["activityid"] == LookupValue("email", email["activityid"])]
        assert sorted(party["participationtypemask"] for party in parties) == [1, 2]
        assert [entry.action for entry in org.audit.history("email", email["activityid"])] == [1]
