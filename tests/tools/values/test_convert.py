"""Value resolution for the write tools, against real table metadata that the Dataverse client reads from the sandbox
Dataverse: columns, choices, booleans, numbers, text, date-times in the user's zone, and lookups by id, name and "me"
(searched as the signed-in user)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from mcp.server.auth.provider import AccessToken

from dataverse.sandbox.dataverse.app import create_sandbox_dataverse_app, sandbox_token_verifier
from dataverse.sandbox.dataverse.organization import TIMEZONE_CODES, create_sandbox_organization
from dataverse.sandbox.dataverse.security import SecuredDataset, caller_for
from dataverse.sandbox.users import ALICE, SANDBOX_USERS
from dataverse.settings import Settings
from dataverse.tools.kit.context import ToolCall, ToolDeps, ToolRuntime
from dataverse.tools.kit.errors import InvalidArgumentError, UnknownColumnError
from dataverse.tools.values.convert import (
    AmbiguousValueError,
    DateTimeBehavior,
    InvalidValueError,
    ReadOnlyColumnError,
    check_columns,
    convert_value,
)
from dataverse.tools.values.lookups import LookupNotFoundError, LookupResolver
from dataverse.tools.values.timezones import WINDOWS_TIMEZONE_CODES, UnknownTimeZoneError, get_user_zone
from dataverse.webapi.client import DataverseClient, create_http_client
from dataverse.webapi.models import TableMetadata
from tests.tools.conftest import SANDBOX_URL, TODAY, user_token

NEW_YORK = ZoneInfo("America/New_York")
LOCAL = DateTimeBehavior()


@dataclass
class Sandbox:
    organization: Any
    call: ToolCall
    runtime: ToolRuntime
    tables: dict[str, TableMetadata]

    def resolver(self, table: str) -> LookupResolver:
        async def user_id() -> str:
            return ALICE.systemuser_id

        return LookupResolver(self.call, self.tables[table], get_user_id=user_id)

    def convert(self, table: str, column: str, value: Any, **options: Any) -> Any:
        return convert_value(self.tables[table].column(column), value, table=table, **options)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    organization = create_sandbox_organization(today=TODAY)
    app = create_sandbox_dataverse_app(organization=organization, base_url=SANDBOX_URL,
                                       verify_token=sandbox_token_verifier(SANDBOX_URL))
    token = user_token(ALICE)

    async def token_for(*_: Any) -> str:
        return token

    async with create_http_client(transport=httpx.ASGITransport(app=app)) as http:
        client = DataverseClient(SANDBOX_URL, token_for, http=http)
        tables = {name: await client.get_table(name) for name in ("contact", "account", "appointment", "systemuser")}
        runtime = ToolRuntime(ToolDeps(settings=Settings(dataverse_urls=[SANDBOX_URL]), http=http,
                                       dataverse_token=token_for))
        caller = AccessToken(token=token, client_id="test", scopes=[], subject=ALICE.object_id)
        yield Sandbox(organization, ToolCall(caller=caller, environment=SANDBOX_URL, client=client, runtime=runtime),
                      runtime, tables)


def visible(sandbox: Sandbox, table: str) -> list[dict[str, Any]]:
    return SecuredDataset(sandbox.organization, caller_for(sandbox.organization, ALICE.systemuser_id)).rows(table)


# --- columns ----------------------------------------------------------------------------------------------------


def test_columns_are_logical_names_and_a_lookup_may_be_named_by_its_wire_name(sandbox: Sandbox):
    found = check_columns(sandbox.tables["contact"], {"JobTitle": "CFO", "_parentcustomerid_value": None},
                          operation="update")
    assert list(found) == ["jobtitle", "parentcustomerid"]


def test_an_unknown_column_suggests_the_nearest_writable_one_first(sandbox: Sandbox):
    with pytest.raises(UnknownColumnError) as raised:
        check_columns(sandbox.tables["contact"], {"jobtitel": "CFO"}, operation="update")
    message = str(raised.value)
    assert "did you mean jobtitle" in message
    assert "Valid columns:" in message and "fullname" not in message.split("Valid columns:")[1]  # not writable


def test_read_only_columns_are_refused_with_the_reason(sandbox: Sandbox):
    with pytest.raises(ReadOnlyColumnError, match=r"'fullname'.*set by Dataverse itself"):
        check_columns(sandbox.tables["contact"], {"fullname": "X"}, operation="create")
    with pytest.raises(ReadOnlyColumnError, match="contactid can only be set when you create"):
        check_columns(sandbox.tables["contact"], {"contactid": "0badc0de-0000-4000-8000-000000000000"},
                      operation="update")
    assert "contactid" in check_columns(sandbox.tables["contact"], {"contactid": "x"}, operation="create")


def test_a_column_given_twice_is_refused(sandbox: Sandbox):
    with pytest.raises(InvalidArgumentError, match="given twice"):
        check_columns(sandbox.tables["contact"], {"jobtitle": "A", "JOBTITLE": "B"}, operation="update")


# --- choices and booleans ---------------------------------------------------------------------------------------


def test_a_choice_takes_a_label_in_any_case_a_unique_prefix_or_a_value(sandbox: Sandbox):
    assert sandbox.convert("account", "industrycode", "consulting") == 7
    assert sandbox.convert("account", "industrycode", "  Financial ") == 16
    assert sandbox.convert("account", "industrycode", "insur") == 19
    assert sandbox.convert("account", "industrycode", 29) == 29
    assert sandbox.convert("account", "industrycode", "29") == 29
    assert sandbox.convert("account", "statuscode", "inactive") == 2


def test_an_ambiguous_label_lists_only_the_matching_options(sandbox: Sandbox):
    with pytest.raises(AmbiguousValueError) as raised:
        sandbox.convert("account", "industrycode", "con")
    message = str(raised.value)
    assert "'Consulting' (7)" in message and "'Consumer Services' (8)" in message and "Retail" not in message


def test_an_unknown_label_or_value_lists_every_option(sandbox: Sandbox):
    for wrong in ("Space Travel", 4):
        with pytest.raises(InvalidValueError) as raised:
            sandbox.convert("account", "industrycode", wrong)
        assert "'Accounting' (1)" in str(raised.value) and "'Wholesale' (33)" in str(raised.value)


def test_booleans_take_true_false_words_and_the_columns_own_labels(sandbox: Sandbox):
    assert sandbox.convert("contact", "donotemail", True) is True
    assert sandbox.convert("contact", "donotemail", "no") is False
    assert sandbox.convert("contact", "donotemail", "do not allow") is True
    assert sandbox.convert("contact", "donotemail", "Allow") is False
    with pytest.raises(InvalidValueError, match="'Do Not Allow' \\(true\\)"):
        sandbox.convert("contact", "donotemail", "maybe")


# --- numbers and text -------------------------------------------------------------------------------------------


def test_numbers_accept_plain_and_grouped_forms_and_refuse_the_rest(sandbox: Sandbox):
    assert sandbox.convert("account", "numberofemployees", "1,250") == 1250
    assert sandbox.convert("account", "numberofemployees", 12.0) == 12
    assert sandbox.convert("account", "revenue", "$1,250,000.50") == 1250000.5
    assert sandbox.convert("account", "revenue", 99) == 99
    for wrong, reason in ((12.5, "fraction"), (True, "whole number"), ("lots", "not one"),
                          (3_000_000_000, "out of range")):
        with pytest.raises(InvalidValueError, match=reason):
            sandbox.convert("account", "numberofemployees", wrong)
    for wrong in ("1.234,56", float("nan"), "12 dollars"):
        with pytest.raises(InvalidValueError):
            sandbox.convert("account", "revenue", wrong)


def test_text_is_checked_against_the_columns_length(sandbox: Sandbox):
    assert sandbox.convert("account", "accountnumber", 12345) == "12345"
    with pytest.raises(InvalidValueError, match="at most 20 characters; this value has 21"):
        sandbox.convert("account", "accountnumber", "x" * 21)
    with pytest.raises(InvalidValueError, match="takes text"):
        sandbox.convert("account", "name", {"text": "Contoso"})


# --- dates and times --------------------------------------------------------------------------------------------


def test_a_time_without_offset_is_the_users_wall_clock_time(sandbox: Sandbox):
    start = sandbox.convert("appointment", "scheduledstart", "2026-03-13T14:00", behavior=LOCAL, zone=NEW_YORK)
    assert start == "2026-03-13T18:00:00Z"  # EDT
    winter = sandbox.convert("appointment", "scheduledstart", "2026-01-13 14:00:00", behavior=LOCAL, zone=NEW_YORK)
    assert winter == "2026-01-13T19:00:00Z"  # EST


def test_a_time_with_an_offset_or_z_is_an_instant_whatever_the_users_zone(sandbox: Sandbox):
    for zone in (NEW_YORK, ZoneInfo("Asia/Tokyo"), None):
        assert sandbox.convert("appointment", "scheduledend", "2026-03-13T14:00:00+01:00", behavior=LOCAL,
                               zone=zone) == "2026-03-13T13:00:00Z"
        assert sandbox.convert("appointment", "scheduledend", "2026-03-13T14:00:00Z", behavior=LOCAL,
                               zone=zone) == "2026-03-13T14:00:00Z"


def test_daylight_saving_gaps_are_refused_and_repeated_hours_take_the_first(sandbox: Sandbox):
    with pytest.raises(InvalidValueError, match="does not exist in America/New_York"):
        sandbox.convert("appointment", "scheduledstart", "2026-03-08T02:30", behavior=LOCAL, zone=NEW_YORK)
    repeated = sandbox.convert("appointment", "scheduledstart", "2026-11-01T01:30", behavior=LOCAL, zone=NEW_YORK)
    assert repeated == "2026-11-01T05:30:00Z"  # 01:30 EDT, the first of the two


def test_date_only_and_time_zone_independent_columns(sandbox: Sandbox):
    date_only = DateTimeBehavior(date_only=True)
    assert sandbox.convert("contact", "birthdate", "1990-07-04", behavior=date_only) == "1990-07-04"
    late_evening_utc = "2026-03-13T02:00:00Z"  # still the 12th in New York
    assert sandbox.convert("contact", "birthdate", late_evening_utc, behavior=date_only,
                           zone=NEW_YORK) == "2026-03-12"
    independent = DateTimeBehavior(time_zone_independent=True)
    assert sandbox.convert("appointment", "scheduledstart", "2026-03-13T14:00", behavior=independent,
                           zone=NEW_YORK) == "2026-03-13T14:00:00Z"


def test_words_and_missing_time_zones_are_refused_with_the_expected_form(sandbox: Sandbox):
    with pytest.raises(InvalidValueError, match="ISO 8601 date-time such as '2026-03-13T14:00:00'"):
        sandbox.convert("appointment", "scheduledstart", "tomorrow 2pm", behavior=LOCAL, zone=NEW_YORK)
    with pytest.raises(InvalidValueError, match="offset"):
        sandbox.convert("appointment", "scheduledstart", "2026-03-13T14:00", behavior=LOCAL, zone=None)


def test_every_mapped_time_zone_exists_and_agrees_with_the_sandbox():
    for code, name in WINDOWS_TIMEZONE_CODES.items():
        assert str(get_user_zone(code)) == name
    for code, name in TIMEZONE_CODES.items():
        assert WINDOWS_TIMEZONE_CODES[code] == name
    for user in SANDBOX_USERS:
        assert str(get_user_zone(user.timezone_code)) == user.iana_timezone
    assert get_user_zone(92).utcoffset(datetime(2026, 6, 1)).total_seconds() == 0
    for unknown in (999, None):
        with pytest.raises(UnknownTimeZoneError, match="explicit UTC offset"):
            get_user_zone(unknown)


# --- lookups ----------------------------------------------------------------------------------------------------


async def test_a_lookup_by_table_and_id_binds_through_the_targets_navigation_property(sandbox: Sandbox):
    account = visible(sandbox, "account")[0]
    resolver = sandbox.resolver("appointment")
    binding = await resolver.resolve(sandbox.tables["appointment"].column("regardingobjectid"),
                                     {"table": "account", "id": account["accountid"].upper()})
    assert binding.body_key == "regardingobjectid_account_appointment@odata.bind"
    assert binding.body_value == f"/accounts({account['accountid']})"


async def test_a_bare_id_on_a_polymorphic_lookup_finds_its_table(sandbox: Sandbox):
    contact = visible(sandbox, "contact")[0]
    binding = await sandbox.resolver("appointment").resolve(
        sandbox.tables["appointment"].column("regardingobjectid"), contact["contactid"])
    assert binding.body_key == "regardingobjectid_contact_appointment@odata.bind"
    assert binding.body_value == f"/contacts({contact['contactid']})"
    with pytest.raises(LookupNotFoundError, match="No account or contact or opportunity or lead record"):
        await sandbox.resolver("appointment").resolve(sandbox.tables["appointment"].column("regardingobjectid"),
                                                      "0badc0de-0000-4000-8000-000000000000")


async def test_a_lookup_by_exact_name_or_unique_prefix(sandbox: Sandbox):
    accounts = visible(sandbox, "account")
    column = sandbox.tables["contact"].column("parentcustomerid")

    def starting_with(prefix: str) -> list[dict[str, Any]]:
        return [a for a in accounts if a["name"].casefold().startswith(prefix.casefold())]

    account = next(a for a in accounts if len(starting_with(a["name"][:-1])) == 1)
    name = account["name"]
    exact = await sandbox.resolver("contact").resolve(column, {"table": "account", "name": name.upper()})
    assert exact.target.id == account["accountid"] and exact.target.name == name
    assert exact.body_key == "parentcustomerid_account@odata.bind"
    prefix = await sandbox.resolver("contact").resolve(column, {"table": "account", "name": name[:-1]})
    assert prefix.target.id == account["accountid"]


async def test_an_ambiguous_or_unknown_name_lists_candidates_or_how_to_search(sandbox: Sandbox):
    column = sandbox.tables["contact"].column("parentcustomerid")
    contosos = [a for a in visible(sandbox, "account") if a["name"].startswith("Contoso")]
    with pytest.raises(AmbiguousValueError) as raised:
        await sandbox.resolver("contact").resolve(column, {"table": "account", "name": "contoso"})
    assert all(f"{a['name']!r} (account {a['accountid']})" in str(raised.value) for a in contosos[:10])
    with pytest.raises(LookupNotFoundError, match="contains"):
        await sandbox.resolver("contact").resolve(column, "Nobody Corp That Does Not Exist")


async def test_me_is_the_signed_in_user_and_only_for_user_lookups(sandbox: Sandbox):
    owner = await sandbox.resolver("appointment").resolve(sandbox.tables["appointment"].column("ownerid"), "Me")
    assert owner.body_key == "ownerid@odata.bind" and owner.body_value == f"/systemusers({ALICE.systemuser_id})"
    with pytest.raises(InvalidValueError, match="not at users"):
        await sandbox.resolver("contact").resolve(sandbox.tables["contact"].column("parentcustomerid"), "me")


async def test_clearing_a_polymorphic_lookup_uses_the_target_it_points_at_now(sandbox: Sandbox):
    column = sandbox.tables["contact"].column("parentcustomerid")
    contact = next(c for c in visible(sandbox, "contact") if c.get("parentcustomerid") is not None)
    binding = await sandbox.resolver("contact").resolve(column, None, record_id=contact["contactid"])
    assert binding.body_value is None
    assert binding.body_key == f"parentcustomerid_{contact['parentcustomerid'].table}@odata.bind"


async def test_malformed_lookup_values_name_the_accepted_forms(sandbox: Sandbox):
    column = sandbox.tables["contact"].column("parentcustomerid")
    for wrong, reason in (({"table": "lead", "id": "0badc0de-0000-4000-8000-000000000000"}, "cannot point at"),
                          ({"table": "account", "id": "not-a-guid"}, "not a record id"),
                          ({"entity": "account"}, "takes"), (42, "takes"),
                          ("/accounts(0badc0de-0000-4000-8000-000000000000)", "rather than an entity set path")):
        with pytest.raises(InvalidValueError, match=reason):
            await sandbox.resolver("contact").resolve(column, wrong)
