"""ChatGPT's search and fetch end to end through the full sandbox-mode app: the exact wire contract (one text item of
JSON), results that are exactly what the caller may see, Dataverse search where the environment has it and the
primary-name fallback where it answers 404/403, and fetch's readable rendering of a record."""

from __future__ import annotations

import re

import pytest

from dataverse.sandbox.dataverse.search_routes import SEARCH_PATH, search_state
from dataverse.sandbox.users import ALICE, BOB, CAROL, SandboxUser
from tests.e2e.harness import E2E, error_text, readable, running_app, text_json

SEARCHED = {"account": "name", "contact": "fullname", "opportunity": "name", "lead": "fullname"}


@pytest.fixture
async def e2e():
    async with running_app() as running:
        yield running


def named_like(e2e: E2E, user: SandboxUser, word: str, *, whole_word: bool) -> set[str]:
    """`table:id` of every record the user can read whose primary name has `word` (the oracle)."""
    found = set()
    for table, column in SEARCHED.items():
        key = e2e.organization.table(table).primary_id
        for row in readable(e2e.organization, user, table):
            name = (row.get(column) or "").lower()
            words = re.findall(r"[\w'.-]+", name)
            if (word.lower() in words) if whole_word else (word.lower() in name):
                found.add(f"{table}:{row[key]}")
    return found


def search_calls(e2e: E2E) -> int:
    return e2e.organization.stats.count(method="POST", path=SEARCH_PATH)


async def search(e2e: E2E, user: SandboxUser, query: str) -> list[dict]:
    async with e2e.session(await e2e.sign_in(user)) as session:
        answer = text_json(await session.call_tool("search", {"query": query}))
    assert set(answer) == {"results"}
    for result in answer["results"]:
        assert set(result) == {"id", "title", "url"}
    return answer["results"]


async def test_search_uses_dataverse_search_and_finds_exactly_what_the_caller_may_see(e2e: E2E):
    expected = named_like(e2e, ALICE, "litware", whole_word=True)
    assert 0 < len(expected) <= 20
    results = await search(e2e, ALICE, "Litware")
    assert search_calls(e2e) == 1
    assert {result["id"] for result in results} == expected
    for result in results:
        table, _, record_id = result["id"].partition(":")
        assert "litware" in result["title"].lower()
        assert result["url"] == (f"{e2e.settings.dataverse_urls[0]}/main.aspx?pagetype=entityrecord&etn={table}"
                                 f"&id={record_id}")


def assert_found(results: list[dict], expected: set[str]) -> None:
    """All the expected results, or (when more matched than the 20 a search returns) 20 of them."""
    ids = [result["id"] for result in results]
    assert len(ids) == len(set(ids)) and set(ids) <= expected
    assert len(ids) == min(len(expected), 20)


def alice_only_account(e2e: E2E) -> dict:
    bobs = {row["accountid"] for row in readable(e2e.organization, BOB, "account")}
    return next(row for row in readable(e2e.organization, ALICE, "account")
                if row["name"] == "Litware" and row["accountid"] not in bobs)


async def test_search_never_returns_records_outside_the_callers_reach(e2e: E2E):
    for_bob = named_like(e2e, BOB, "litware", whole_word=True)
    alice_only = named_like(e2e, ALICE, "litware", whole_word=True) - for_bob
    assert alice_only and f"account:{alice_only_account(e2e)['accountid']}" in alice_only
    assert {result["id"] for result in await search(e2e, BOB, "Litware")} == for_bob
    carol = {result["id"] for result in await search(e2e, CAROL, "Litware")}
    assert carol == named_like(e2e, CAROL, "litware", whole_word=True) and alice_only <= carol


@pytest.mark.parametrize("status", [404, 403])
async def test_without_dataverse_search_it_falls_back_to_primary_names_and_remembers(e2e: E2E, status: int):
    state = search_state(e2e.organization)
    state.enabled, state.disabled_status = False, status
    first = await search(e2e, ALICE, "coho")
    again = await search(e2e, ALICE, "Litware")
    assert search_calls(e2e) == 1  # asked once, then the environment is known to have no search
    assert_found(first, named_like(e2e, ALICE, "coho", whole_word=False))
    assert_found(again, named_like(e2e, ALICE, "litware", whole_word=False))
    assert first and again


async def test_fallback_ranks_records_matching_more_words_first(e2e: E2E):
    search_state(e2e.organization).enabled = False
    results = await search(e2e, ALICE, "Coho Europe")
    titles = [result["title"].lower() for result in results]
    both = [title for title in titles if "coho" in title and "europe" in title]
    assert both and titles[:len(both)] == both
    assert any("coho" in title and "europe" not in title for title in titles)  # any word matches, ranked lower


async def test_queries_too_short_for_dataverse_search_use_the_name_match(e2e: E2E):
    results = await search(e2e, ALICE, "Li")
    assert search_calls(e2e) == 0
    assert_found(results, named_like(e2e, ALICE, "li", whole_word=False))


async def test_fetch_renders_the_record_with_labels_and_lookup_names(e2e: E2E):
    account = alice_only_account(e2e)
    assert account.get("primarycontactid") and account.get("industrycode") is not None  # the fixture has both
    contact = e2e.organization.get_row("contact", account["primarycontactid"].id)
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        answer = text_json(await session.call_tool("fetch", {"id": f"account:{account['accountid']}"}))
    assert set(answer) == {"id", "title", "text", "url", "metadata"}
    assert answer["id"] == f"account:{account['accountid']}" and answer["title"] == "Litware"
    lines = answer["text"].splitlines()
    assert lines[0] == "Account Name: Litware"
    owner_table = e2e.organization.table(account["ownerid"].table)
    owner = e2e.organization.get_row(owner_table.logical_name, account["ownerid"].id)
    assert f"Owner: {owner[owner_table.primary_name]}" in lines
    assert f"Primary Contact: {contact['fullname']}" in lines
    label = e2e.organization.table("account").columns["industrycode"].option_label(account["industrycode"])
    assert f"Industry: {label}" in lines
    assert account["accountid"] not in answer["text"]  # no bare GUIDs in the reading text
    assert answer["url"].endswith(f"etn=account&id={account['accountid']}")
    assert answer["metadata"]["table"] == "account"


async def test_fetch_refuses_records_the_caller_cannot_see_and_malformed_ids(e2e: E2E):
    hidden = alice_only_account(e2e)
    async with e2e.session(await e2e.sign_in(BOB)) as session:
        denied = await session.call_tool("fetch", {"id": f"account:{hidden['accountid']}"})
        malformed = await session.call_tool("fetch", {"id": "Litware"})
        bad_guid = await session.call_tool("fetch", {"id": "account:not-a-guid"})
    assert f"No account with id {hidden['accountid']}" in error_text(denied)
    assert "Litware" not in error_text(denied).replace(f"{hidden['accountid']}", "")
    assert "'account:<guid>'" in error_text(malformed)
    assert "is not a record id" in error_text(bad_guid)


async def test_search_and_fetch_are_read_only_tools(e2e: E2E):
    async with e2e.session(await e2e.sign_in(ALICE)) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    for name in ("search", "fetch"):
        assert tools[name].annotations.read_only_hint is True
        assert list(tools[name].input_schema["required"]) == ["query" if name == "search" else "id"]
        assert "environment" not in tools[name].input_schema["properties"]
