"""run_view and get_record_change_history against the sandbox Dataverse in-process: views listed with `query`, run
and paged to the end; a record's history with who and when, paged with its cookie; the privilege and the
environment's audit switch as a client sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.identity import mint_user_token
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID, SandboxUser
from dataverse.webapi import DataverseClient, NotFoundError, PermissionDeniedError, RetryPolicy, create_http_client

MOUNT = "/sandbox/dataverse"
ENVIRONMENT = "https://sandbox.crm.example.com" + MOUNT
TODAY = date(2026, 3, 12)
ACTIVE_ACCOUNTS = "00000000-0000-0000-00aa-000010001002"


@dataclass
class Sandbox:
    organization: SandboxOrganization
    http: httpx.AsyncClient

    def client_as(self, user: SandboxUser) -> DataverseClient:
        token = mint_user_token(user, audience=ENVIRONMENT, issuer="https://login.sandbox.test/t/v2.0",
                                scopes=["user_impersonation"], client_id="webapi-tests")

        async def token_source() -> str:
            return token

        async def no_sleep(seconds: float) -> None:
            return None

        return DataverseClient(ENVIRONMENT, token_source, http=self.http, retry=RetryPolicy(sleep=no_sleep))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    organization = create_sandbox_organization(today=TODAY)
    inner = create_sandbox_dataverse_app(organization=organization, base_url=ENVIRONMENT,
                                         verify_token=sandbox_token_verifier(ENVIRONMENT))
    app = Starlette(routes=[Mount(MOUNT, app=inner)])
    async with create_http_client(transport=httpx.ASGITransport(app=app)) as http:
        yield Sandbox(organization, http)


async def test_views_are_listed_with_query_and_run_page_by_page(sandbox):
    client = sandbox.client_as(CAROL)
    views = await client.query("savedqueries", select=["name", "savedqueryid"],
                               filter="returnedtypecode eq 'account' and querytype eq 0 and statecode eq 0")
    active = next(row["savedqueryid"] for row in views.rows if row["name"] == "Active Accounts")
    assert active == ACTIVE_ACCOUNTS
    seen: list[str] = []
    page = await client.run_view("accounts", saved_query=active, page_size=10)
    seen += [row["accountid"] for row in page.rows]
    while page.more_records:
        page = await client.run_view("accounts", saved_query=active, page_size=10, page=page.next_page or 0,
                                     paging_cookie=page.paging_cookie)
        seen += [row["accountid"] for row in page.rows]
    expected = [row for row in sandbox.organization.rows["account"].values() if row["statecode"] == 0]
    assert len(seen) == len(set(seen)) == len(expected)


async def test_a_personal_view_runs_for_its_owner_only(sandbox):
    mine = await sandbox.client_as(ALICE).query("userqueries", select=["name", "userqueryid"])
    hot = next(row["userqueryid"] for row in mine.rows if row["name"] == "Hot leads")
    rows = (await sandbox.client_as(ALICE).run_view("leads", user_query=hot)).rows
    assert rows and all("leadqualitycode" in row for row in rows)
    with pytest.raises(NotFoundError):
        await sandbox.client_as(BOB).run_view("leads", user_query=hot)


async def test_a_records_history_says_what_changed_who_changed_it_and_when(sandbox):
    alice = sandbox.client_as(ALICE)
    account_id = await alice.create("accounts", {"name": "History Ltd", "description": "First"})
    await alice.update("accounts", account_id, {"description": "Second"})
    await alice.update("accounts", account_id, {"ownerid@odata.bind": f"/teams({SANDBOX_TEAM_ID})"})
    page = await alice.get_record_change_history("accounts", account_id, page_size=2)
    assert page.attributed and page.total_count == 3 and page.more_records
    assign, update = page.changes
    (owner,) = assign.changes
    assert (owner.column, owner.old_value, owner.new_value) == ("ownerid", ALICE.systemuser_id, SANDBOX_TEAM_ID)
    assert owner.new_annotations["OData.Community.Display.V1.FormattedValue"] == "Sales Team"
    assert [(c.column, c.old_value, c.new_value) for c in update.changes] == [("description", "First", "Second")]
    assert (assign.action, update.action) == (13, 2)
    assert {change.changed_by_name for change in page.changes} == {ALICE.full_name}
    assert all(change.changed_on == sandbox.organization.now() for change in page.changes)
    rest = await alice.get_record_change_history("accounts", account_id, page=2, page_size=2,
                                                 paging_cookie=page.paging_cookie)
    (create,) = rest.changes
    assert rest.attributed and not rest.more_records and create.action == 1 and create.operation == 1
    assert {c.column for c in create.changes} >= {"name", "description", "ownerid", "statecode"}


async def test_seeded_history_is_attributed_to_the_records_creator(sandbox):
    org = sandbox.organization
    opportunity = next(row for row in org.rows["opportunity"].values()
                       if row["ownerid"].id == ALICE.systemuser_id and row["salesstage"] > 0)
    page = await sandbox.client_as(ALICE).get_record_change_history("opportunities", opportunity["opportunityid"])
    assert page.attributed and page.changes[-1].action_name == "Create"
    assert {change.changed_by_id for change in page.changes} == {ALICE.systemuser_id}


async def test_history_needs_its_privilege_and_is_empty_when_the_environment_audits_nothing(sandbox):
    org = sandbox.organization
    bobs = next(row["accountid"] for row in org.rows["account"].values() if row["ownerid"].id == BOB.systemuser_id)
    with pytest.raises(PermissionDeniedError) as denied:
        await sandbox.client_as(BOB).get_record_change_history("accounts", bobs)
    assert denied.value.code == "0x80040220"
    org.audit.enabled = False
    alice = sandbox.client_as(ALICE)
    account_id = await alice.create("accounts", {"name": "Unaudited Ltd"})
    await alice.update("accounts", account_id, {"name": "Still unaudited"})
    page = await alice.get_record_change_history("accounts", account_id)
    assert (page.changes, page.total_count, page.more_records) == ([], 0, False)
