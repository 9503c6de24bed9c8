"""The two-step delete end to end: the official MCP client against the full sandbox-mode app, signed in through the
app's own OAuth flow, with every outcome checked in the sandbox Dataverse itself (its rows and its request counts).

delete_record changes nothing and reports the cascade; confirm_delete deletes exactly once; a replayed, expired,
foreign or stale token deletes nothing; 32 concurrent confirmations send exactly one DELETE; a failed delete is
reported (and audited), not retried."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from dataverse.audit import AUDIT_LOGGER_NAME
from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.users import ALICE, BOB
from tests.e2e.harness import E2E, error_text, payload, readable, running_app

CASCADING = {  # (table, lookup column) whose rows the sandbox deletes along with an account
    "contact": "parentcustomerid", "opportunity": "customerid",
    "appointment": "regardingobjectid", "task": "regardingobjectid", "phonecall": "regardingobjectid",
    "email": "regardingobjectid", "annotation": "objectid",
}


def children_of(e2e: E2E, account_id: str, *, visible_to: Any = None) -> dict[str, set[str]]:
    """Ids of the rows each cascading table holds for the account (all of them, or those `visible_to` can read)."""
    target = LookupValue("account", account_id)
    found: dict[str, set[str]] = {}
    for table, column in CASCADING.items():
        rows = readable(e2e.organization, visible_to, table) if visible_to else e2e.organization.all_rows(table)
        primary = e2e.organization.table(table).primary_id
        found[table] = {row[primary] for row in rows if row.get(column) == target}
    return found


def alices_account_with_children(e2e: E2E) -> str:
    """An account Alice owns that has at least two kinds of cascading children."""
    for row in e2e.organization.all_rows("account"):
        owner = row.get("ownerid")
        if isinstance(owner, LookupValue) and owner.id == ALICE.systemuser_id:
            kinds = [table for table, ids in children_of(e2e, row["accountid"]).items() if ids]
            if len(kinds) >= 2:
                return row["accountid"]
    raise AssertionError("the sandbox seed has no account of Alice's with cascading children")


def deletes(e2e: E2E) -> int:
    return e2e.organization.stats.count(method="DELETE")


async def propose(session: Any, account_id: str) -> dict[str, Any]:
    return payload(await session.call_tool("delete_record", {"table": "account", "id": account_id}))


async def confirm(session: Any, token: str) -> Any:
    return await session.call_tool("confirm_delete", {"confirmation_token": token})


async def test_delete_record_only_proposes_and_confirm_deletes_with_the_cascade() -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        children = children_of(e2e, account_id)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            proposal = await propose(session, account_id)
            assert proposal["deleted"] is False
            assert e2e.organization.get_row("account", account_id) is not None and deletes(e2e) == 0
            impact = proposal["impact"]
            row = e2e.organization.get_row("account", account_id)
            assert (impact["table"], impact["id"], impact["name"]) == ("account", account_id, row["name"])
            assert impact["owner"] == ALICE.full_name
            visible = children_of(e2e, account_id, visible_to=ALICE)
            counted = {item["table"]: item["count"] for item in impact["cascades"]}
            assert counted == {table: len(ids) for table, ids in visible.items()}
            assert len(proposal["confirmation_token"]) >= 43

            done = payload(await confirm(session, proposal["confirmation_token"]))
        assert done["deleted"] is True and done["id"] == account_id
        assert e2e.organization.get_row("account", account_id) is None
        for table, ids in children.items():
            assert all(e2e.organization.get_row(table, child) is None for child in ids), table
        assert deletes(e2e) == 1


async def test_a_confirmation_token_works_once() -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            token = (await propose(session, account_id))["confirmation_token"]
            payload(await confirm(session, token))
            replay = error_text(await confirm(session, token))
            made_up = error_text(await confirm(session, "x" * 43))
        assert "already been used" in replay and "already been used" in made_up
        assert deletes(e2e) == 1


async def test_an_expired_token_deletes_nothing() -> None:
    async with running_app(confirm_token_ttl_seconds=1) as e2e:
        account_id = alices_account_with_children(e2e)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            token = (await propose(session, account_id))["confirmation_token"]
            await asyncio.sleep(1.2)  # past the 1 s lifetime
            refusal = error_text(await confirm(session, token))
            again = error_text(await confirm(session, token))
        assert "expired" in refusal and "expired" in again
        assert e2e.organization.get_row("account", account_id) is not None and deletes(e2e) == 0


async def test_another_users_token_is_refused_and_stays_valid_for_its_owner() -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        alice_bearer, bob_bearer = await e2e.sign_in(ALICE), await e2e.sign_in(BOB)
        async with e2e.session(alice_bearer) as alice:
            token = (await propose(alice, account_id))["confirmation_token"]
        async with e2e.session(bob_bearer) as bob:
            refusal = error_text(await confirm(bob, token))
        assert "another user" in refusal
        assert e2e.organization.get_row("account", account_id) is not None and deletes(e2e) == 0
        async with e2e.session(alice_bearer) as alice:
            assert payload(await confirm(alice, token))["deleted"] is True
        assert e2e.organization.get_row("account", account_id) is None and deletes(e2e) == 1


async def test_a_record_changed_since_the_proposal_is_not_deleted() -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            token = (await propose(session, account_id))["confirmation_token"]
            changed = dict(e2e.organization.get_row("account", account_id))
            changed["name"] = "Renamed meanwhile"
            e2e.organization.put_row("account", changed)  # a new row version, as another user's update makes
            refusal = error_text(await confirm(session, token))
            replay = error_text(await confirm(session, token))
        assert "was changed" in refusal and "already been used" in replay
        assert e2e.organization.get_row("account", account_id)["name"] == "Renamed meanwhile"
        assert deletes(e2e) == 0


async def test_a_change_landing_between_the_check_and_the_delete_is_caught_by_if_match() -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        organization = e2e.organization
        record_request = organization.stats.record

        def change_just_before_the_delete(method: str, path: str) -> None:
            record_request(method, path)  # the sandbox counts a request before it handles it
            if method == "DELETE" and account_id in path:
                changed = dict(organization.get_row("account", account_id))
                changed["name"] = "Renamed at the last moment"
                organization.put_row("account", changed)

        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            token = (await propose(session, account_id))["confirmation_token"]
            organization.stats.record = change_just_before_the_delete  # type: ignore[method-assign]
            refusal = error_text(await confirm(session, token))
        assert "was changed" in refusal
        assert deletes(e2e) == 1  # sent, and refused by Dataverse with 412
        assert organization.get_row("account", account_id)["name"] == "Renamed at the last moment"


async def test_32_concurrent_confirmations_send_exactly_one_delete() -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            token = (await propose(session, account_id))["confirmation_token"]
            results = await asyncio.gather(*(confirm(session, token) for _ in range(32)))
        succeeded = [result for result in results if not result.is_error]
        refused = [error_text(result) for result in results if result.is_error]
        assert len(succeeded) == 1 and len(refused) == 31
        assert all("already been used" in text for text in refused)
        assert deletes(e2e) == 1
        assert e2e.organization.get_row("account", account_id) is None


async def test_a_failed_delete_is_reported_audited_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    async with running_app() as e2e:
        account_id = alices_account_with_children(e2e)
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            token = (await propose(session, account_id))["confirmation_token"]
            e2e.organization.faults.update(server_error={"count": 1, "status": 503, "method": "DELETE"})
            with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER_NAME):
                failure = error_text(await confirm(session, token))
            replay = error_text(await confirm(session, token))
        assert "did not delete" in failure and "not retried" in failure
        assert "already been used" in replay
        assert deletes(e2e) == 1  # the one attempt, no retry
        assert e2e.organization.get_row("account", account_id) is not None
        events = [json.loads(record.getMessage()) for record in caplog.records if record.name == AUDIT_LOGGER_NAME]
        failed = [event for event in events if event["event"] == "delete_failed"]
        assert len(failed) == 1 and failed[0]["record_id"] == account_id and failed[0]["outcome"] == "error"


@pytest.mark.parametrize("policy", [{"allow_delete": False}, {"access_mode": "read_only"}])
async def test_policy_that_forbids_deleting_removes_the_tools(policy: dict[str, Any]) -> None:
    async with running_app(**policy) as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            names = {tool.name for tool in (await session.list_tools()).tools}
            account_id = alices_account_with_children(e2e)
            with pytest.raises(MCPError) as refused:
                await session.call_tool("delete_record", {"table": "account", "id": account_id})
        assert "query_records" in names and not {"delete_record", "confirm_delete"} & names
        assert refused.value.error.code == -32602 and deletes(e2e) == 0


async def test_tool_annotations_say_which_step_destroys() -> None:
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        propose_hints, confirm_hints = tools["delete_record"].annotations, tools["confirm_delete"].annotations
        assert propose_hints.read_only_hint is False and propose_hints.destructive_hint is False
        assert confirm_hints.read_only_hint is False and confirm_hints.destructive_hint is True
        assert confirm_hints.idempotent_hint is False
