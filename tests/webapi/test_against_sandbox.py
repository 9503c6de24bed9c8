"""The client against the sandbox Dataverse, in-process (httpx.ASGITransport) and over loopback HTTP (uvicorn).

The same tests run both ways: reads, paging through next links and FetchXML pages, metadata, Dataverse search, writes
with ETags, errors, and the retry rules against the sandbox's injected throttling and server errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.dataverse.search_routes import search_state
from dataverse.sandbox.entra.loopback import serve_on_loopback
from dataverse.sandbox.identity import mint_user_token
from dataverse.sandbox.users import ALICE, BOB, CAROL, SandboxUser
from dataverse.webapi import (
    AuthenticationError,
    BadRequestError,
    ConcurrencyError,
    DataverseClient,
    DateTimeBehavior,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RetryPolicy,
    ThrottledError,
    create_http_client,
    is_search_unavailable,
    with_paging,
)

MOUNT = "/sandbox/dataverse"
TODAY = date(2026, 3, 12)


@dataclass
class Sandbox:
    organization: SandboxOrganization
    environment_url: str
    http: httpx.AsyncClient
    sleeps: list[float]

    def client_as(self, user: SandboxUser, **options) -> DataverseClient:
        token = mint_user_token(
            user,
            audience=self.environment_url,
            issuer="https://login.sandbox.test/t/v2.0",
            scopes=["user_impersonation"],
            client_id="webapi-tests",
        )

        async def token_source() -> str:
            return token

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        policy = RetryPolicy(sleep=sleep, jitter=lambda: 0.0)
        return DataverseClient(self.environment_url, token_source, http=self.http, retry=policy, **options)


def build_app(organization: SandboxOrganization, environment_url: str) -> Starlette:
    inner = create_sandbox_dataverse_app(
        organization=organization, base_url=environment_url, verify_token=sandbox_token_verifier(environment_url)
    )
    return Starlette(routes=[Mount(MOUNT, app=inner)])


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[tuple[SandboxOrganization, str]]:
    """One uvicorn server on 127.0.0.1 (port chosen by the OS) for the module's loopback tests."""
    organization = create_sandbox_organization(today=TODAY)
    with serve_on_loopback(lambda base_url: build_app(organization, base_url + MOUNT), name="loopback sandbox") as url:
        yield organization, url + MOUNT


@pytest.fixture(params=["asgi", "loopback"])
async def sandbox(request) -> AsyncIterator[Sandbox]:
    if request.param == "asgi":
        environment_url = "https://sandbox.crm.example.com" + MOUNT
        organization = create_sandbox_organization(today=TODAY)
        transport = httpx.ASGITransport(app=build_app(organization, environment_url))
        http = create_http_client(transport=transport)
    else:
        organization, environment_url = request.getfixturevalue("loopback_server")
        organization.faults.reset()
        http = create_http_client()
    async with http:
        yield Sandbox(organization, environment_url, http, [])


async def test_whoami_and_profile(sandbox):
    client = sandbox.client_as(ALICE)
    me = await client.whoami()
    assert me.user_id == ALICE.systemuser_id
    profile = await client.get_user_profile(me.user_id)
    assert (profile.full_name, profile.timezone_code) == (ALICE.full_name, ALICE.timezone_code)


async def test_paging_through_next_links_returns_every_row_once(sandbox):
    client = sandbox.client_as(CAROL)
    everything = await client.query("accounts", select=["accountid", "name"], count=True)
    page = await client.query("accounts", select=["accountid", "name"], page_size=3)
    ids = [row["accountid"] for row in page.rows]
    assert len(page.rows) == 3 and page.next_link
    while page.next_link:
        page = await client.query_next(page.next_link, page_size=3)
        assert len(page.rows) <= 3
        ids += [row["accountid"] for row in page.rows]
    assert len(ids) == len(set(ids)) == len(everything.rows) == everything.count


async def test_filters_with_quotes_and_ampersands_reach_the_server_intact(sandbox):
    client = sandbox.client_as(ALICE)
    new_id = await client.create("accounts", {"name": "O'Neil & Sons #1 + Co"})
    page = await client.query("accounts", select=["accountid", "name"], filter="name eq 'O''Neil & Sons #1 + Co'")
    assert [(row["accountid"], row["name"]) for row in page.rows] == [(new_id, "O'Neil & Sons #1 + Co")]
    page = await client.query("accounts", select=["accountid"], filter="contains(name,'& Sons #1 +')")
    assert [row["accountid"] for row in page.rows] == [new_id]


async def test_fetch_xml_pages_with_the_paging_cookie(sandbox):
    client = sandbox.client_as(CAROL)
    xml = '<fetch><entity name="account"><attribute name="name"/><order attribute="name"/></entity></fetch>'
    all_rows = (await client.fetch_xml("accounts", xml)).rows
    first = await client.fetch_xml("accounts", with_paging(xml, page=1, count=2))
    assert first.more_records is True
    second = await client.fetch_xml(
        "accounts", with_paging(xml, page=first.next_page or 2, count=2, paging_cookie=first.paging_cookie)
    )
    assert [r["name"] for r in first.rows + second.rows] == [r["name"] for r in all_rows[:4]]


async def test_metadata_describes_tables_columns_and_relationships(sandbox):
    client = sandbox.client_as(ALICE)
    tables = {table.logical_name: table for table in await client.list_tables()}
    assert tables["account"].entity_set == "accounts"
    opportunity = await client.get_table("opportunity")
    assert opportunity.table.primary_id == "opportunityid"
    status = opportunity.column("statuscode")
    assert {(option.label, option.state) for option in status.options} >= {("In Progress", 0), ("Won", 1)}
    assert sorted(opportunity.column("customerid").targets) == ["account", "contact"]
    assert any(r.navigation_property == "customerid_account" for r in opportunity.many_to_one)
    columns = await client.get_table_columns("opportunity")
    assert columns.listed and columns.table == opportunity.table
    assert [(c.logical_name, c.type) for c in columns.columns] == [(c.logical_name, c.type)
                                                                   for c in opportunity.columns]
    with pytest.raises(NotFoundError):
        await client.get_table_columns("nosuchtable")


async def test_datetime_behaviors_say_which_columns_hold_dates_only(sandbox):
    client = sandbox.client_as(ALICE)
    behaviors = await client.get_datetime_behaviors("opportunity")
    assert behaviors["estimatedclosedate"] == DateTimeBehavior(date_only=True)
    assert behaviors["createdon"] == DateTimeBehavior(date_only=False, time_zone_independent=False)
    assert "name" not in behaviors
    with pytest.raises(NotFoundError):
        await client.get_datetime_behaviors("nosuchtable")


async def test_search_finds_only_rows_the_user_may_read(sandbox):
    client = sandbox.client_as(BOB)
    hits = await client.search("Contoso", entities=[("account", ["name"]), ("contact", ["fullname"])], top=100)
    assert hits and {hit.table for hit in hits} <= {"account", "contact"}
    assert all("contoso" in hit.attributes["name"].lower() for hit in hits if hit.table == "account")
    for hit in hits:  # each one readable with the same token
        entity_set = "accounts" if hit.table == "account" else "contacts"
        assert (await client.retrieve(entity_set, hit.id, select=["createdon"]))["createdon"]
    everyone = await sandbox.client_as(CAROL).search("Contoso", entities=[("account", ["name"])], top=100)
    assert {hit.id for hit in hits if hit.table == "account"} < {hit.id for hit in everyone}


@pytest.mark.parametrize(("status", "error_type"), [(404, NotFoundError), (403, PermissionDeniedError)])
async def test_search_switched_off_says_search_is_unavailable(sandbox, status, error_type):
    state = search_state(sandbox.organization)
    state.enabled, state.disabled_status = False, status
    try:
        with pytest.raises(error_type) as caught:
            await sandbox.client_as(ALICE).search("Contoso", entities=[("account", ["name"])])
    finally:
        state.enabled = True
    assert caught.value.status == status and is_search_unavailable(caught.value)


async def test_search_is_retried_after_a_server_error(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.organization.stats.reset()
    sandbox.organization.faults.update(server_error={"count": 1, "status": 503, "method": "POST"})
    assert await client.search("Contoso", entities=[("account", ["name"])])
    assert sandbox.organization.stats.count(method="POST") == 2 and len(sandbox.sleeps) == 1


async def test_delete_with_a_stale_etag_is_refused_and_with_the_current_one_deletes(sandbox):
    client = sandbox.client_as(ALICE)
    new_id = await client.create("accounts", {"name": "Delete Me Co"})
    first = await client.retrieve("accounts", new_id, select=["name"])
    await client.update("accounts", new_id, {"name": "Delete Me Co 2"}, etag=first["@odata.etag"])
    with pytest.raises(ConcurrencyError):
        await client.delete("accounts", new_id, etag=first["@odata.etag"])
    current = await client.retrieve("accounts", new_id, select=["name"])
    await client.delete("accounts", new_id, etag=current["@odata.etag"])
    with pytest.raises(NotFoundError):
        await client.retrieve("accounts", new_id)


async def test_a_server_error_on_delete_is_an_unknown_outcome_and_is_not_retried(sandbox):
    client = sandbox.client_as(ALICE)
    new_id = await client.create("accounts", {"name": "Maybe Deleted Co"})
    row = await client.retrieve("accounts", new_id, select=["name"])
    sandbox.organization.stats.reset()
    sandbox.organization.faults.update(server_error={"count": 1, "status": 503, "method": "DELETE"})
    with pytest.raises(OutcomeUnknownError, match="still exists"):
        await client.delete("accounts", new_id, etag=row["@odata.etag"])
    assert sandbox.organization.stats.count(method="DELETE") == 1 and sandbox.sleeps == []


async def test_create_update_with_etag_and_delete(sandbox):
    client = sandbox.client_as(ALICE)
    new_id = await client.create("accounts", {"name": "Webapi Test Co"})
    row = await client.retrieve("accounts", new_id, select=["name"])
    assert row["name"] == "Webapi Test Co"
    await client.update("accounts", new_id, {"name": "Webapi Test Co 2"}, etag=row["@odata.etag"])
    with pytest.raises(ConcurrencyError):
        await client.update("accounts", new_id, {"name": "stale"}, etag=row["@odata.etag"])
    await client.delete("accounts", new_id)
    with pytest.raises(NotFoundError):
        await client.retrieve("accounts", new_id)
    with pytest.raises(NotFoundError):  # If-Match: * means PATCH never creates the row again
        await client.update("accounts", new_id, {"name": "ghost"})


async def test_errors_come_back_typed(sandbox):
    client = sandbox.client_as(ALICE)
    with pytest.raises(NotFoundError, match="acounts"):
        await client.query("acounts")
    with pytest.raises(BadRequestError) as caught:
        await client.query("accounts", select=["bogus"])
    assert caught.value.code == "0x80060888" and caught.value.request_id


async def test_a_token_for_another_environment_is_refused(sandbox):
    token = mint_user_token(
        ALICE,
        audience="https://other.crm.dynamics.com",
        issuer="https://login.sandbox.test/t/v2.0",
        scopes=["user_impersonation"],
        client_id="webapi-tests",
    )

    async def wrong_token() -> str:
        return token

    client = DataverseClient(sandbox.environment_url, wrong_token, http=sandbox.http)
    with pytest.raises(AuthenticationError):
        await client.whoami()


async def test_throttling_is_waited_out(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.organization.faults.update(throttle={"count": 2, "retry_after": 3})
    me = await client.whoami()
    assert me.user_id == ALICE.systemuser_id
    assert sandbox.sleeps == [3.0, 3.0]


async def test_throttling_beyond_the_budget_is_reported(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.organization.faults.update(throttle={"count": 1, "retry_after": 60})
    with pytest.raises(ThrottledError, match="throttled, retry after 60 s"):
        await client.whoami()


async def test_a_server_error_on_create_is_an_unknown_outcome_and_is_not_retried(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.organization.stats.reset()
    sandbox.organization.faults.update(server_error={"count": 1, "status": 503, "method": "POST"})
    with pytest.raises(OutcomeUnknownError):
        await client.create("accounts", {"name": "Maybe Co"})
    assert sandbox.organization.stats.count(method="POST") == 1


async def test_a_server_error_on_read_is_retried(sandbox):
    client = sandbox.client_as(ALICE)
    sandbox.organization.faults.update(server_error={"count": 2, "status": 503})
    assert (await client.whoami()).user_id == ALICE.systemuser_id
    assert len(sandbox.sleeps) == 2
