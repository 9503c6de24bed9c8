"""Schema access for reading (dataverse/tools/tables.py): a cold query_records asks for one table definition with its
attributes and then the rows, never the table list or the twelve requests that describe a table in full; names that
are not logical names still resolve through the list, and the table policy still applies. Requests are counted in the
sandbox Dataverse."""

from __future__ import annotations

from dataverse.sandbox.users import ALICE, CAROL
from tests.tools.conftest import Harness, build_harness, error_text, payload, running

API = "/api/data/v9.2/"


def requested_paths(harness: Harness) -> list[str]:
    return sorted(path.removeprefix(API) for _, path in harness.organization.stats.requests())


async def test_a_cold_query_costs_one_definition_request_and_the_query(harness: Harness):
    async with harness.session(ALICE) as session:
        harness.organization.stats.reset()
        cold = payload(await session.call_tool("query_records", {"table": "opportunity",
                                                                 "select": ["name", "customerid", "statecode"]}))
        assert requested_paths(harness) == ["EntityDefinitions(LogicalName='opportunity')", "opportunities"]
        harness.organization.stats.reset()
        warm = payload(await session.call_tool("query_records", {"table": "opportunity",
                                                                 "select": ["name", "customerid", "statecode"]}))
        assert requested_paths(harness) == ["opportunities"]
    assert cold["rows"] == warm["rows"] and cold["rows"]
    first = cold["rows"][0]
    assert first["customerid"]["table"] in ("account", "contact") and "label" in first["statecode"]


async def test_get_record_reuses_the_columns_and_a_full_description_serves_both(harness: Harness):
    async with harness.session(CAROL) as session:
        payload(await session.call_tool("describe_table", {"table": "account"}))
        harness.organization.stats.reset()
        rows = payload(await session.call_tool("query_records", {"table": "account", "top": 1}))["rows"]
        record = payload(await session.call_tool("get_record", {"table": "account", "id": rows[0]["accountid"],
                                                                "select": ["name", "ownerid"]}))
    assert [path.split("(")[0] for path in requested_paths(harness)] == ["accounts", "accounts"]
    assert record["record"]["name"] == rows[0]["name"] and record["record"]["ownerid"]["table"] == "systemuser"


async def test_an_entity_set_name_resolves_through_the_table_list(harness: Harness):
    async with harness.session(CAROL) as session:
        by_logical = payload(await session.call_tool("query_records", {"table": "contact", "top": 5}))
        harness.organization.stats.reset()
        by_set = payload(await session.call_tool("query_records", {"table": "Contacts", "top": 5}))
    assert by_set == by_logical | {"cursor": by_set["cursor"]}
    assert "EntityDefinitions" in requested_paths(harness)  # the list, once, for the entity set name


async def test_an_unknown_table_is_refused_with_suggestions_after_one_definition_request(harness: Harness):
    async with harness.session(ALICE) as session:
        harness.organization.stats.reset()
        message = error_text(await session.call_tool("query_records", {"table": "oportunity"}))
        first = requested_paths(harness)
        again = error_text(await session.call_tool("query_records", {"table": "oportunity"}))
    assert "'oportunity'" in message and "opportunity" in message.split("'oportunity'", 1)[1]
    assert first == ["EntityDefinitions", "EntityDefinitions(LogicalName='oportunity')"]
    assert again == message and requested_paths(harness) == first  # both answers cached


async def test_refresh_schema_forgets_the_columns(harness: Harness):
    async with harness.session(ALICE) as session:
        payload(await session.call_tool("query_records", {"table": "account", "top": 1}))
        cleared = payload(await session.call_tool("refresh_schema", {}))
        harness.organization.stats.reset()
        payload(await session.call_tool("query_records", {"table": "account", "top": 1}))
    assert cleared["cleared"] >= 1
    assert requested_paths(harness) == ["EntityDefinitions(LogicalName='account')", "accounts"]


async def test_a_denied_table_is_refused_by_logical_and_by_entity_set_name_without_reading_it():
    built = build_harness(settings_update={"table_denylist": ["contact"]})
    async with running(built):
        async with built.session(CAROL) as session:
            built.organization.stats.reset()
            by_logical = error_text(await session.call_tool("query_records", {"table": "contact"}))
            assert built.organization.stats.total == 0
            by_set = error_text(await session.call_tool("query_records", {"table": "contacts"}))
            record = error_text(await session.call_tool("get_record", {
                "table": "contact", "id": "00000000-0000-0000-0000-000000000001"}))
    assert "not available through this connector" in by_logical and "not available" in record
    assert "no table with logical name 'contacts'" in by_set and "Did you mean" not in by_set  # contact stays hidden
    assert not any(path.startswith("contacts") for path in requested_paths(built))
