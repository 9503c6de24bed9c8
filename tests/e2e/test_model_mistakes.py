"""Mistakes models really make, made through the official MCP client over HTTP against the full sandbox app, signed
in as alice. Each call is either answered correctly (checked against the sandbox's own data and row security) or
refused with an error that names the fix and shows no internals. None is answered wrongly without an error."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from dataverse.sandbox.users import ALICE
from tests.e2e.harness import E2E, error_text, payload, readable, running_app

INTERNALS = re.compile(r"Traceback|pydantic|validation error for|errors\.pydantic\.dev|RecursionError|"
                       r"KeyError|TypeError|AttributeError|Internal Server Error|\bError executing tool \w+$")
CONTOSO = "a6a3a450-6513-470e-a69e-0d37f2a74de4"


@dataclass
class Session:
    e2e: E2E
    client: ClientSession

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        return await self.client.call_tool(tool, arguments)

    def opportunities(self) -> list[dict[str, Any]]:
        return readable(self.e2e.organization, ALICE, "opportunity")


@dataclass
class SignedIn:
    e2e: E2E
    bearer: str

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        async with self.e2e.session(self.bearer) as client:
            yield Session(self.e2e, client)


@pytest.fixture
async def alice() -> AsyncIterator[SignedIn]:
    async with running_app() as e2e:
        yield SignedIn(e2e, await e2e.sign_in(ALICE))


def refused(result: Any, *must_say: str) -> str:
    """The error text, checked to name every fix in `must_say` and to show nothing of the server's insides."""
    text = error_text(result)
    assert not INTERNALS.search(text), text
    for phrase in must_say:
        assert phrase in text, (phrase, text)
    return text


def ids(rows: list[dict[str, Any]]) -> set[str]:
    return {row["opportunityid"] for row in rows}


async def all_rows(s: Session, arguments: dict[str, Any]) -> dict[str, Any]:
    """Every page of a query (500 a page), with the last page's extra keys."""
    first = payload(await s.call("query_records", arguments | {"top": 500}))
    rows, page = list(first["rows"]), first
    while page["more"]:
        page = payload(await s.call("query_records", {"cursor": page["cursor"]}))
        rows.extend(page["rows"])
    return first | {"rows": rows}


# --- arguments the tool does not take: refused, never dropped -------------------------------------------------------

MISNAMED = [
    ("query_records", {"table": "opportunity", "$filter": "estimatedvalue gt 400000"}, "use `filter`"),
    ("query_records", {"table": "opportunity", "where": "statecode eq 0"}, "use `filter`"),
    ("query_records", {"table": "opportunity", "columns": ["name"]}, "use `select`"),
    ("query_records", {"table": "opportunity", "limit": 5}, "use `top`"),
    ("query_records", {"table": "opportunity", "orderBy": "name"}, "use `orderby`"),
    ("whoami", {"env": "https://other.crm.dynamics.com"}, "one environment"),
    ("get_record", {"table": "account", "record_id": CONTOSO}, "use `id`"),
    ("create_record", {"table": "contact", "data": {"lastname": "X"}}, "use `values`"),
    ("fetchxml_query", {"fetch_xml": "<fetch><entity name='account'/></fetch>"}, "use `fetchxml`"),
    ("search", {"q": "Contoso"}, "Valid parameters: query"),
]


@pytest.mark.parametrize(("tool", "arguments", "fix"), MISNAMED, ids=[f"{t}-{next(iter(a.keys() - {'table'}))}"
                                                                      for t, a, _ in MISNAMED])
async def test_an_argument_the_tool_does_not_take_is_refused_with_the_right_name(alice: SignedIn, tool: str,
                                                                                  arguments: dict[str, Any], fix: str):
    async with alice.session() as session:
        text = refused(await session.call(tool, arguments), fix, "Nothing was done")
        assert "Valid parameters" in text


async def test_a_filter_beside_a_cursor_is_refused_not_dropped(alice: SignedIn):
    async with alice.session() as session:
        first = payload(await session.call("query_records", {"table": "opportunity", "top": 5}))
        assert first["more"]
        refused(await session.call("query_records", {"cursor": first["cursor"], "filter": "statecode eq 1"}),
                "start a new query")


# --- values out of range or of the wrong type: one sentence with the way forward ------------------------------------

async def test_top_over_the_cap_says_the_cap_and_to_page(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity", "top": 1000}), "at most 500",
                "page with the cursor")


async def test_top_that_is_not_a_number_says_so(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity", "top": "lots"}),
                "`top` must be a whole number")


async def test_values_that_are_not_an_object_say_so(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("create_record", {"table": "contact", "values": "lastname=Smith"}),
                "`values` must be an object")


async def test_a_record_id_that_is_not_a_guid_shows_what_one_looks_like(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("get_record", {"table": "account", "id": "Contoso"}), "GUID")


# --- filters written the way people talk ---------------------------------------------------------------------------

async def test_a_choice_compared_with_its_label_is_translated_exactly(alice: SignedIn):
    async with alice.session() as session:
        result = await all_rows(session, {"table": "opportunity", "filter": "salesstage eq 'Develop'",
                                          "select": ["salesstage"]})
        assert ids(result["rows"]) == ids([r for r in session.opportunities() if r["salesstage"] == 1])
        assert result["translated"] == ["salesstage eq 'Develop' -> salesstage eq 1"]


async def test_a_state_compared_with_its_label_is_translated_exactly(alice: SignedIn):
    async with alice.session() as session:
        result = await all_rows(session, {"table": "opportunity", "filter": "statecode eq 'Open'"})
        assert ids(result["rows"]) == ids([r for r in session.opportunities() if r["statecode"] == 0])


async def test_a_label_that_is_no_option_gets_the_values(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity", "filter": "salesstage eq 'Dev'"}),
                "1 Develop", "salesstage eq")


@pytest.mark.parametrize("owner", ["ownerid eq 'me'", "_ownerid_value eq 'me'"])
async def test_me_in_an_owner_filter_is_the_signed_in_user(alice: SignedIn, owner: str):
    async with alice.session() as session:
        result = await all_rows(session, {"table": "opportunity", "filter": f"{owner} and statecode eq 0"})
        assert ids(result["rows"]) == ids([r for r in session.opportunities()
                                           if r["ownerid"].id == ALICE.systemuser_id and r["statecode"] == 0])
        assert any(ALICE.systemuser_id in note for note in result["translated"])


async def test_a_lookup_compared_with_a_name_gets_both_forms_that_work(alice: SignedIn):
    async with alice.session() as session:
        text = refused(await session.call("query_records", {"table": "opportunity",
                                                            "filter": "customerid eq 'Contoso Ltd'"}),
                       f"_customerid_value eq {CONTOSO}", "customerid_account/name eq 'Contoso Ltd'")
        assert "customerid_contact/fullname" in text


async def test_a_date_in_words_gets_the_format_and_the_relative_functions(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity",
                                                      "filter": "estimatedclosedate gt 'next week'"}),
                "2026-03-31", "NextXDays", "ThisMonth")


async def test_a_quoted_date_is_compared_as_a_date(alice: SignedIn):
    async with alice.session() as session:
        result = await all_rows(session, {"table": "opportunity", "filter": "estimatedclosedate lt '2026-03-31'"})
        expected = [r for r in session.opportunities() if r.get("estimatedclosedate")
                    and r["estimatedclosedate"] < date(2026, 3, 31)]
        assert ids(result["rows"]) == ids(expected) and expected


async def test_a_quoted_amount_is_compared_as_a_number(alice: SignedIn):
    async with alice.session() as session:
        result = await all_rows(session, {"table": "opportunity", "filter": "estimatedvalue gt '400000'",
                                          "select": ["estimatedvalue"]})
        expected = [r for r in session.opportunities() if (r.get("estimatedvalue") or 0) > 400000]
        assert ids(result["rows"]) == ids(expected) and expected
        assert all(row["estimatedvalue"] > 400000 for row in result["rows"])


async def test_a_text_column_compared_with_text_is_left_alone(alice: SignedIn):
    async with alice.session() as session:
        result = payload(await session.call("query_records", {"table": "account", "filter": "name eq 'Contoso Ltd'"}))
        assert [row["accountid"] for row in result["rows"]] == [CONTOSO] and "translated" not in result


# --- names a model guesses -----------------------------------------------------------------------------------------

async def test_expanding_a_lookup_by_its_column_name_lists_its_navigation_properties(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity", "expand": "customerid($select=name)"}),
                "customerid_account", "customerid_contact")


async def test_a_misspelt_navigation_property_gets_the_nearest(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity", "expand": "parentaccount"}),
                "parentaccountid")


async def test_a_misspelt_table_gets_the_nearest(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "oportunity"}), "Did you mean: opportunity")


async def test_a_table_named_by_its_entity_set_is_understood(alice: SignedIn):
    async with alice.session() as session:
        result = await all_rows(session, {"table": "opportunities"})
        assert result["table"] == "opportunity" and ids(result["rows"]) == ids(session.opportunities())


async def test_a_misspelt_column_gets_the_nearest(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("query_records", {"table": "opportunity", "select": ["nmae"]}), "did you mean name")


async def test_fetchxml_with_an_entity_set_gets_the_logical_name(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("fetchxml_query", {
            "fetchxml": "<fetch><entity name='opportunities'><attribute name='name'/></entity></fetch>"}),
            "<entity name='opportunity'>")


async def test_fetchxml_with_a_misspelt_attribute_gets_the_nearest(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("fetchxml_query", {
            "fetchxml": "<fetch><entity name='opportunity'><attribute name='nmae'/></entity></fetch>"}),
            "Did you mean: name")


async def test_fetchxml_with_a_misspelt_link_entity_gets_the_nearest(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("fetchxml_query", {
            "fetchxml": "<fetch><entity name='opportunity'><link-entity name='acount' from='accountid' "
                        "to='customerid'/></entity></fetch>"}), "Did you mean: account")


async def test_a_bad_fetchxml_operator_gets_fetchxml_advice_not_odata(alice: SignedIn):
    async with alice.session() as session:
        text = refused(await session.call("fetchxml_query", {
            "fetchxml": "<fetch><entity name='opportunity'><filter><condition attribute='statecode' operator='equals' "
                        "value='0'/></filter></entity></fetch>"}), "eq-userid", "alias")
        assert "single quotes" not in text and "$filter" not in text


# --- caps -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("attribute", ["top='5000'", "count='1000'"])
async def test_fetchxml_row_counts_are_capped_like_top(alice: SignedIn, attribute: str):
    async with alice.session() as session:
        refused(await session.call("fetchxml_query", {
            "fetchxml": f"<fetch {attribute}><entity name='opportunity'><attribute name='name'/></entity></fetch>"}),
            "from 1 to 500")


async def test_fetchxml_nested_beyond_reason_is_refused_cleanly(alice: SignedIn):
    async with alice.session() as session:
        deep = "<fetch><entity name='account'>" + "<filter>" * 1500 + "</filter>" * 1500 + "</entity></fetch>"
        refused(await session.call("fetchxml_query", {"fetchxml": deep}), "nests", "flatten")


async def test_a_cursor_handed_to_the_other_query_tool_is_refused(alice: SignedIn):
    async with alice.session() as session:
        first = payload(await session.call("query_records", {"table": "opportunity", "top": 5}))
        refused(await session.call("fetchxml_query", {"cursor": first["cursor"]}), "pass it to query_records")


async def test_an_unknown_report_lists_the_reports(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("run_report", {"name": "everyone's salaries"}), "my-open-opportunities")


async def test_fetch_with_a_bare_guid_says_what_an_id_looks_like(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("fetch", {"id": CONTOSO}), "account:<guid>")


async def test_a_made_up_confirmation_token_deletes_nothing(alice: SignedIn):
    async with alice.session() as session:
        refused(await session.call("confirm_delete", {"confirmation_token": "x" * 43}), "nothing was changed")
        assert any(row["accountid"] == CONTOSO for row in readable(session.e2e.organization, ALICE, "account"))


# --- protocol errors as the spec names them -------------------------------------------------------------------------

async def test_an_unknown_prompt_is_invalid_params_with_the_names(alice: SignedIn):
    async with alice.session() as session:
        with pytest.raises(MCPError) as caught:
            await session.client.get_prompt("top-secret-report")
        assert caught.value.error.code == -32602 and "my-open-opportunities" in caught.value.error.message


async def test_a_prompt_argument_it_does_not_take_is_invalid_params(alice: SignedIn):
    async with alice.session() as session:
        with pytest.raises(MCPError) as caught:
            await session.client.get_prompt("my-open-opportunities", {"owner": "bob"})
        assert caught.value.error.code == -32602 and "'owner'" in caught.value.error.message


async def test_an_unknown_resource_is_resource_not_found_in_this_protocol_era(alice: SignedIn):
    async with alice.session() as session:
        with pytest.raises(MCPError) as caught:
            await session.client.read_resource("report://everyone-salaries")
        assert caught.value.error.code == -32002 and "report://my-open-opportunities" in caught.value.error.message


async def test_server_info_carries_the_package_version(alice: SignedIn):
    async with alice.session() as session:
        import dataverse

        assert (await session.client.initialize()).server_info.version == dataverse.__version__


async def test_an_unknown_tool_is_invalid_params_with_the_names(alice: SignedIn):
    async with alice.session() as session:
        with pytest.raises(MCPError) as caught:
            await session.client.call_tool("delete_everything", {})
    assert caught.value.error.code == -32602 and "query_records" in caught.value.error.message


async def test_closing_a_deal_by_update_is_refused_with_the_tool_that_does_it(alice: SignedIn):
    async with alice.session() as session:
        deal = next(row for row in session.opportunities() if row["statecode"] == 0
                    and row["ownerid"].id == ALICE.systemuser_id)
        refused(await session.call("update_record", {"table": "opportunity", "id": deal["opportunityid"],
                                                     "values": {"statecode": 1, "statuscode": 3}}),
                "close_opportunity")
        assert session.e2e.organization.get_row("opportunity", deal["opportunityid"])["statecode"] == 0
