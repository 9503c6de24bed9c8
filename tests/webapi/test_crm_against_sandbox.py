"""The CRM verbs of the client against the sandbox Dataverse in-process (httpx.ASGITransport): closing deals,
qualifying leads, functions, the operation definitions of $metadata, associations, $batch with change sets, N:N
metadata, and the retry rules meeting the sandbox's injected server errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.dataverse.schema_sales import MANY_TO_MANY
from dataverse.sandbox.identity import mint_user_token
from dataverse.sandbox.users import ALICE, BOB, SandboxUser
from dataverse.webapi import (
    BadRequestError,
    BatchRequest,
    ChangeSet,
    DataverseClient,
    EntityReference,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RetryPolicy,
    create_http_client,
    find_operation,
)

MOUNT = "/sandbox/dataverse"
ENVIRONMENT = "https://sandbox.crm.example.com" + MOUNT
FACING = next(rel for rel in MANY_TO_MANY if rel.schema_name == "opportunitycompetitors_association")


@dataclass
class Sandbox:
    org: SandboxOrganization
    http: httpx.AsyncClient
    sleeps: list[float]

    def client_as(self, user: SandboxUser) -> DataverseClient:
        token = mint_user_token(user, audience=ENVIRONMENT, issuer="https://login.sandbox.test/t/v2.0",
                                scopes=["user_impersonation"], client_id="webapi-tests")

        async def token_source() -> str:
            return token

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        return DataverseClient(ENVIRONMENT, token_source, http=self.http,
                               retry=RetryPolicy(sleep=sleep, jitter=lambda: 0.0))

    def owned(self, table: str, user: SandboxUser, **where: object) -> dict:
        return next(row for row in self.org.rows[table].values() if row["ownerid"].id == user.systemuser_id
                    and all(row.get(key) == value for key, value in where.items()))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    org = create_sandbox_organization(today=date(2026, 3, 12))
    inner = create_sandbox_dataverse_app(organization=org, base_url=ENVIRONMENT,
                                         verify_token=sandbox_token_verifier(ENVIRONMENT))
    app = Starlette(routes=[Mount(MOUNT, app=inner)])
    async with create_http_client(transport=httpx.ASGITransport(app=app)) as http:
        yield Sandbox(org, http, [])


def _close(opportunity_id: str) -> dict:
    return {"subject": "Closed by the client", "opportunityid@odata.bind": f"/opportunities({opportunity_id})"}


async def test_win_and_lose_close_opportunities(sandbox):
    client = sandbox.client_as(ALICE)
    first, second = [row["opportunityid"] for row in sandbox.org.rows["opportunity"].values()
                     if row["ownerid"].id == ALICE.systemuser_id and row["statecode"] == 0][:2]
    assert await client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": _close(first)}) is None
    assert await client.invoke_action("LoseOpportunity", {"Status": 5, "OpportunityClose": _close(second)}) is None
    assert (sandbox.org.rows["opportunity"][first]["statecode"], sandbox.org.rows["opportunity"][second]["statecode"]) \
        == (1, 2)
    closes = await client.query("opportunitycloses", select=["subject"], filter=f"_opportunityid_value eq {first}")
    assert [row["subject"] for row in closes.rows] == ["Closed by the client"]


async def test_closing_by_update_is_refused_with_the_documented_code(sandbox):
    client = sandbox.client_as(ALICE)
    opportunity = sandbox.owned("opportunity", ALICE, statecode=0)
    with pytest.raises(BadRequestError) as caught:
        await client.update("opportunities", opportunity["opportunityid"], {"statecode": 1, "statuscode": 3})
    assert caught.value.code == "0x80100005" and "use the WinOpportunity message" in str(caught.value)


async def test_closing_what_one_cannot_see_or_change(sandbox):
    client = sandbox.client_as(ALICE)
    with pytest.raises(NotFoundError):
        await client.invoke_action("WinOpportunity", {
            "Status": 3, "OpportunityClose": _close(sandbox.owned("opportunity", BOB, statecode=0)["opportunityid"])})
    carols = next(row for row in sandbox.org.rows["opportunity"].values() if row["statecode"] == 0
                  and row["ownerid"].id not in (ALICE.systemuser_id, BOB.systemuser_id))
    sandbox.org.share_with("opportunity", carols["opportunityid"], ALICE.systemuser_id)
    with pytest.raises(PermissionDeniedError) as caught:
        await client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": _close(carols["opportunityid"])})
    assert caught.value.code == "0x80040220" and "prvWriteOpportunity" in str(caught.value)


async def test_qualify_lead_returns_the_created_records(sandbox):
    client = sandbox.client_as(ALICE)
    lead = sandbox.owned("lead", ALICE, statecode=0)
    account = sandbox.owned("account", ALICE)
    created = await client.invoke_action("QualifyLead", {
        "CreateAccount": False, "CreateContact": True, "CreateOpportunity": True, "Status": 3,
        "OpportunityCustomerId": EntityReference("account", account["accountid"])},
        entity_set="leads", record_id=lead["leadid"])
    assert [item["@odata.type"] for item in created] == ["#Microsoft.Dynamics.CRM.contact",
                                                         "#Microsoft.Dynamics.CRM.opportunity"]
    opportunity = sandbox.org.rows["opportunity"][created[1]["opportunityid"]]
    assert opportunity["customerid"] == LookupValue("account", account["accountid"])
    assert sandbox.org.rows["lead"][lead["leadid"]]["statecode"] == 1


async def test_functions_answer_with_their_complex_types(sandbox):
    client = sandbox.client_as(ALICE)
    counts = await client.invoke_function("RetrieveTotalRecordCount", {"EntityNames": ["account", "lead"]})
    assert counts["EntityRecordCountCollection"]["Values"] == [len(sandbox.org.rows["account"]),
                                                               len(sandbox.org.rows["lead"])]
    assert (await client.invoke_function("WhoAmI"))["UserId"] == ALICE.systemuser_id


async def test_definitions_from_metadata_describe_and_check_calls(sandbox):
    client = sandbox.client_as(ALICE)
    definitions = await client.list_operations()
    win = find_operation(definitions, "WinOpportunity")
    assert (win.kind, win.required) == ("action", ["OpportunityClose", "Status"])
    qualify = find_operation(definitions, "QualifyLead", bound_to="lead")
    assert qualify.returns == "Collection(mscrm.crmbaseentity)"
    with pytest.raises(ValueError, match="did you mean 'Status'"):
        await client.invoke_action("WinOpportunity", {"status": 3, "OpportunityClose": {}}, definition=win)
    opportunity_id = sandbox.owned("opportunity", ALICE, statecode=0)["opportunityid"]
    await client.invoke_action("WinOpportunity", {"Status": -1, "OpportunityClose": _close(opportunity_id)},
                               definition=win)
    assert sandbox.org.rows["opportunity"][opportunity_id]["statuscode"] == 3


async def test_associations_for_one_to_many_many_to_many_and_lookups(sandbox):
    client = sandbox.client_as(ALICE)
    org = sandbox.org
    account = sandbox.owned("account", ALICE)
    contact = next(row for row in org.rows["contact"].values() if row["ownerid"].id == ALICE.systemuser_id
                   and row["parentcustomerid"] != LookupValue("account", account["accountid"]))
    await client.associate("accounts", account["accountid"], "contact_customer_accounts", target_set="contacts",
                           target_id=contact["contactid"])
    assert org.rows["contact"][contact["contactid"]]["parentcustomerid"].id == account["accountid"]
    await client.disassociate("accounts", account["accountid"], "contact_customer_accounts",
                              target_id=contact["contactid"])
    assert org.rows["contact"][contact["contactid"]]["parentcustomerid"] is None

    opportunity_id = sandbox.owned("opportunity", ALICE, statecode=0)["opportunityid"]
    competitor_id = next(row_id for row_id in org.rows["competitor"]
                         if row_id not in org.linked_ids(FACING, "opportunity", opportunity_id))
    await client.associate("opportunities", opportunity_id, "opportunitycompetitors_association",
                           target_set="competitors", target_id=competitor_id)
    assert competitor_id in org.linked_ids(FACING, "opportunity", opportunity_id)
    with pytest.raises(BadRequestError):  # an N:N link that already exists
        await client.associate("opportunities", opportunity_id, "opportunitycompetitors_association",
                               target_set="competitors", target_id=competitor_id)

    await client.set_reference("opportunities", opportunity_id, "customerid_account", target_set="accounts",
                               target_id=account["accountid"])
    assert org.rows["opportunity"][opportunity_id]["customerid"] == LookupValue("account", account["accountid"])
    await client.disassociate("opportunities", opportunity_id, "customerid_account")
    assert org.rows["opportunity"][opportunity_id]["customerid"] is None


async def test_many_to_many_relationships_come_with_the_table_metadata(sandbox):
    table = await sandbox.client_as(ALICE).get_table("opportunity")
    [competitors] = table.many_to_many
    assert (competitors.schema_name, competitors.intersect_entity, competitors.entity2) == (
        "opportunitycompetitors_association", "opportunitycompetitors", "competitor")
    assert competitors.navigation_from("opportunity") == "opportunitycompetitors_association"


async def test_a_batch_with_a_change_set_and_references(sandbox):
    client = sandbox.client_as(ALICE)
    result = await client.submit_batch([
        ChangeSet([
            BatchRequest.create("contacts", {"firstname": "Batch", "lastname": "Client"}),
            BatchRequest.create("accounts", {"name": "Batch Client Account", "primarycontactid@odata.bind": "$1"}),
            BatchRequest("PUT", "$1/parentcustomerid_account/$ref", {"@odata.id": "$2"}),
        ]),
        BatchRequest.query("contacts", select=["fullname"], filter="lastname eq 'Client'"),
    ])
    assert result.succeeded, result.failures
    contact_id, account_id = result.operations[0].record_id, result.operations[1].record_id
    assert sandbox.org.rows["account"][account_id]["primarycontactid"] == LookupValue("contact", contact_id)
    assert sandbox.org.rows["contact"][contact_id]["parentcustomerid"] == LookupValue("account", account_id)
    assert [row["fullname"] for row in result.operations[3].body["value"]] == ["Batch Client"]


async def test_a_failing_change_set_is_rolled_back_and_reported(sandbox):
    client = sandbox.client_as(ALICE)
    before = len(sandbox.org.rows["account"])
    result = await client.submit_batch([
        ChangeSet([BatchRequest.create("accounts", {"name": "Never"}),
                   BatchRequest.create("contacts", {"lastname": "x" * 51})]),  # over lastname's 50 characters
        BatchRequest.create("accounts", {"name": "After"}),
    ], continue_on_error=True)
    assert [op.outcome for op in result.operations] == ["rolled_back", "failed", "succeeded"]
    assert result.operations[1].error.code == "0x80044331"
    assert len(sandbox.org.rows["account"]) == before + 1


async def test_without_continue_on_error_the_rest_is_not_run(sandbox):
    client = sandbox.client_as(ALICE)
    result = await client.submit_batch([BatchRequest.create("contacts", {"lastname": "x" * 51}),
                                        BatchRequest.create("contacts", {"lastname": "Skipped"})])
    assert [op.outcome for op in result.operations] == ["failed", "not_run"]
    assert not [row for row in sandbox.org.rows["contact"].values() if row["lastname"] == "Skipped"]


async def test_a_batch_meeting_a_server_error_is_an_unknown_outcome_and_not_retried(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.org.faults.update(server_error={"count": 1, "status": 503, "method": "POST"})
    with pytest.raises(OutcomeUnknownError):
        await client.submit_batch([BatchRequest.create("contacts", {"lastname": "Maybe"})])
    assert sandbox.org.stats.count(method="POST", path="/api/data/v9.2/$batch") == 1
    assert sandbox.sleeps == []


async def test_an_action_meeting_a_server_error_is_an_unknown_outcome_and_a_function_is_retried(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.org.faults.update(server_error={"count": 1, "status": 503, "method": "POST"})
    with pytest.raises(OutcomeUnknownError):
        await client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": {}})
    sandbox.org.faults.update(server_error={"count": 1, "status": 503, "method": "GET"})
    assert (await client.invoke_function("WhoAmI"))["UserId"] == ALICE.systemuser_id
    assert len(sandbox.sleeps) == 1


async def test_batch_updates_deletes_and_associations_of_existing_records(sandbox):
    client = sandbox.client_as(ALICE)
    org = sandbox.org
    contact_id = await client.create("contacts", {"lastname": "Short-lived"})
    opportunity = sandbox.owned("opportunity", ALICE, statecode=0)
    competitor_id = next(row_id for row_id in org.rows["competitor"]
                         if row_id not in org.linked_ids(FACING, "opportunity", opportunity["opportunityid"]))
    etag = (await client.retrieve("opportunities", opportunity["opportunityid"], select=["name"]))["@odata.etag"]
    result = await client.submit_batch([ChangeSet([
        BatchRequest.update("opportunities", opportunity["opportunityid"], {"description": "Batched"}, etag=etag),
        BatchRequest.associate("opportunities", opportunity["opportunityid"], "opportunitycompetitors_association",
                               target_set="competitors", target_id=competitor_id),
        BatchRequest.delete("contacts", contact_id),
    ])])
    assert result.succeeded, result.failures
    assert org.rows["opportunity"][opportunity["opportunityid"]]["description"] == "Batched"
    assert competitor_id in org.linked_ids(FACING, "opportunity", opportunity["opportunityid"])
    assert contact_id not in org.rows["contact"]


async def test_a_stale_etag_in_a_change_set_rolls_back_the_others(sandbox):
    client = sandbox.client_as(ALICE)
    opportunity = sandbox.owned("opportunity", ALICE, statecode=0)
    result = await client.submit_batch([ChangeSet([
        BatchRequest.create("contacts", {"lastname": "Rolled"}),
        BatchRequest.update("opportunities", opportunity["opportunityid"], {"name": "x"}, etag='W/"1"'),
    ])])
    assert [op.outcome for op in result.operations] == ["rolled_back", "failed"]
    assert result.operations[1].status == 412
    assert not [row for row in sandbox.org.rows["contact"].values() if row["lastname"] == "Rolled"]
