"""The sandbox OData $filter engine: operators, literals, functions, navigation, lambdas, dates, errors."""

from __future__ import annotations

import contextlib

import pytest
from fake_dataset import ACC, ALICE, FakeDataset, alice_context
from hypothesis import given, settings
from hypothesis import strategies as st

from dataverse.sandbox.dataverse.model import SandboxError
from dataverse.sandbox.dataverse.odata_filter import compile_filter

DATASET = FakeDataset()
CTX = alice_context()


def names(text: str, table: str = "account") -> list[str]:
    schema = DATASET.table(table)
    keep = compile_filter(text, schema, DATASET, CTX)
    return sorted(row[schema.primary_name] for row in DATASET.rows(table) if keep(row))


def error(text: str, table: str = "account") -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        compile_filter(text, DATASET.table(table), DATASET, CTX)
    assert caught.value.status == 400
    return caught.value


ALL = sorted(["Contoso Ltd", "Fabrikam, Inc.", "O'Brien & Sons", "Adventure Works", "Litware", "contoso east"])


@pytest.mark.parametrize(("text", "expected"), [
    ("revenue eq 75000", ["Adventure Works"]),
    ("revenue ne 75000", ["Contoso Ltd", "Fabrikam, Inc.", "Litware", "contoso east"]),  # null revenue excluded
    ("revenue gt 75000", ["Contoso Ltd", "Fabrikam, Inc."]),
    ("revenue ge 75000", ["Adventure Works", "Contoso Ltd", "Fabrikam, Inc."]),
    ("revenue lt 20000", ["Litware"]),
    ("revenue le 20000", ["Litware", "contoso east"]),
    ("revenue gt 250000.25", ["Contoso Ltd", "Fabrikam, Inc."]),
    ("revenue gt 250000.75", ["Contoso Ltd"]),
])
def test_comparison_operators_on_money(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    either = names("statecode eq 1 or numberofemployees eq 500 and revenue lt 50000")
    assert either == ["O'Brien & Sons", "contoso east"]
    assert names("(statecode eq 1 or numberofemployees eq 500) and revenue lt 50000") == ["contoso east"]


def test_not_negates_and_unknown_stays_excluded() -> None:
    assert names("not (revenue gt 50000)") == ["Litware", "contoso east"]  # null revenue: unknown, not returned
    assert names("not donotemail") == ["Contoso Ltd", "Litware", "O'Brien & Sons", "contoso east"]


def test_string_equality_is_case_insensitive_and_quotes_double_to_escape() -> None:
    assert names("name eq 'CONTOSO LTD'") == ["Contoso Ltd"]
    assert names("name eq 'O''Brien & Sons'") == ["O'Brien & Sons"]
    assert names("name gt 'l'") == ["Litware", "O'Brien & Sons"]


def test_string_functions_are_case_insensitive_and_honour_wildcards() -> None:
    assert names("contains(name,'CONTOSO')") == ["Contoso Ltd", "contoso east"]
    assert names("startswith(name,'contoso e')") == ["contoso east"]
    assert names("endswith(name,'INC.')") == ["Fabrikam, Inc."]
    assert names("not contains(name,'o')") == ["Fabrikam, Inc.", "Litware"]
    assert names("startswith(name,'_itware')") == ["Litware"]


def test_null_literals_mean_is_null_and_is_not_null() -> None:
    assert names("accountnumber eq null") == ["O'Brien & Sons"]
    assert names("accountnumber ne null") == sorted(set(ALL) - {"O'Brien & Sons"})
    assert names("numberofemployees eq null") == ["Adventure Works"]


def test_choice_columns_compare_by_integer_value() -> None:
    assert names("statecode eq 1") == ["O'Brien & Sons"]
    err = error("statecode eq 'Inactive'")
    assert err.code == "0x80060888"
    assert "incompatible types" in err.message and "'Edm.Int32' and 'Edm.String'" in err.message


def test_lookups_filter_by_wire_name_with_unquoted_or_quoted_guid() -> None:
    expected = ["Adventure Works", "Contoso Ltd", "O'Brien & Sons", "contoso east"]
    assert names(f"_ownerid_value eq {ALICE}") == expected
    assert names(f"_ownerid_value eq '{ALICE.upper()}'") == expected
    assert names("_primarycontactid_value eq null") == ["O'Brien & Sons", "contoso east"]


def test_lookup_logical_name_is_a_navigation_property_not_a_value() -> None:
    err = error(f"ownerid eq {ALICE}")
    assert "incompatible types" in err.message
    assert names("primarycontactid eq null") == ["O'Brien & Sons", "contoso east"]
    # a polymorphic lookup has no single navigation property of its own name
    assert error("customerid ne null", "opportunity").message == (
        "Could not find a property named 'customerid' on type 'Microsoft.Dynamics.CRM.opportunity'.")


def test_column_to_column_comparison() -> None:
    assert names("firstname eq lastname", "contact") == ["Maria Maria"]


def test_single_valued_navigation_traversal() -> None:
    assert names("primarycontactid/fullname eq 'nancy anderson'") == ["Fabrikam, Inc."]
    assert names("primarycontactid/jobtitle eq 'Buyer'") == ["Adventure Works", "Contoso Ltd"]
    assert names("primarycontactid/parentcustomerid_account/name eq 'Contoso Ltd'") == ["Contoso Ltd"]
    assert names("customerid_account/name eq 'contoso ltd'", "opportunity") == [
        "Contoso renewal", "Contoso upgrade", "Won deal"]
    assert names("ownerid/fullname eq 'Bob Brown'") == ["Fabrikam, Inc.", "Litware"]


def test_collection_lambdas_any_and_all() -> None:
    assert names("Account_Tasks/any(t:t/statecode eq 0)") == ["Contoso Ltd"]
    assert names("Account_Tasks/any()") == ["Contoso Ltd", "Fabrikam, Inc.", "Litware"]
    # `all` is vacuously true for accounts without tasks
    assert names("Account_Tasks/all(t:t/statecode eq 1)") == sorted(set(ALL) - {"Contoso Ltd"})
    assert names("Account_Tasks/any(t:contains(t/subject,'quote') and t/statecode eq 0)") == ["Contoso Ltd"]
    assert names("opportunity_parent_account/any(o:o/estimatedvalue gt 40000 and o/statecode eq 0)") == ["Contoso Ltd"]


def test_nested_lambdas_and_outer_properties_inside_a_lambda() -> None:
    assert names("contact_customer_accounts/any(c:c/jobtitle eq 'CEO' and statecode eq 0)") == ["Fabrikam, Inc."]
    assert names("contact_customer_accounts/any(c:c/ownerid/fullname eq 'Alice Anders')") == [
        "Adventure Works", "Contoso Ltd"]


def test_date_and_datetime_literals() -> None:
    assert names("createdon ge 2024-03-01") == ["Contoso Ltd", "Fabrikam, Inc.", "contoso east"]
    assert names("createdon lt 2024-03-01T04:59:00Z") == ["Adventure Works", "Litware", "O'Brien & Sons"]
    assert names("createdon le 2024-02-29T07:00:00-05:00") == ["Adventure Works", "Litware", "O'Brien & Sons"]
    assert names("estimatedclosedate eq 2024-03-31", "opportunity") == ["Contoso upgrade"]


def test_relative_date_functions_use_the_callers_time_zone() -> None:
    # NOW is 2024-04-01T02:00Z, i.e. 2024-03-31 22:00 in New York
    assert names("Microsoft.Dynamics.CRM.Today(PropertyName='createdon')") == ["contoso east"]
    assert names("Microsoft.Dynamics.CRM.Yesterday(PropertyName='createdon')") == ["Contoso Ltd"]
    assert names("Microsoft.Dynamics.CRM.ThisMonth(PropertyName='createdon')") == ["Contoso Ltd", "contoso east"]
    assert names("Microsoft.Dynamics.CRM.LastMonth(PropertyName='createdon')") == ["Fabrikam, Inc.", "O'Brien & Sons"]
    assert names("Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=30)") == [
        "Contoso Ltd", "contoso east"]
    assert names("Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=60)") == [
        "Adventure Works", "Litware"]
    assert names("Microsoft.Dynamics.CRM.On(PropertyName='createdon',PropertyValue='2024-03-30')") == ["Contoso Ltd"]
    assert names("Microsoft.Dynamics.CRM.OnOrAfter(PropertyName='createdon',PropertyValue='2024-03-01')") == [
        "Contoso Ltd", "contoso east"]
    assert names("Microsoft.Dynamics.CRM.OnOrBefore(PropertyName='createdon',PropertyValue='2024-01-15')") == [
        "Adventure Works", "Litware"]


def test_relative_date_functions_on_date_only_columns_compare_the_date_itself() -> None:
    assert names("Microsoft.Dynamics.CRM.ThisMonth(PropertyName='estimatedclosedate')", "opportunity") == [
        "Contoso upgrade", "Fabrikam pilot", "Litware expansion", "Lost deal"]
    assert names("Microsoft.Dynamics.CRM.NextMonth(PropertyName='estimatedclosedate')", "opportunity") == [
        "Contoso renewal"]
    assert names("Microsoft.Dynamics.CRM.Today(PropertyName='estimatedclosedate')", "opportunity") == [
        "Contoso upgrade"]
    assert names("Microsoft.Dynamics.CRM.NextXDays(PropertyName='estimatedclosedate',PropertyValue=15)",
                 "opportunity") == ["Contoso renewal", "Contoso upgrade"]
    assert names("Microsoft.Dynamics.CRM.On(PropertyName='birthdate',PropertyValue='1990-03-31')", "contact") == [
        "Susanna Stubberod"]
    assert names("Microsoft.Dynamics.CRM.LastXYears(PropertyName='birthdate',PropertyValue=34)", "contact") == [
        "Paul Cannon", "Susanna Stubberod"]


def test_user_functions() -> None:
    assert names("Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')") == [
        "Adventure Works", "Contoso Ltd", "O'Brien & Sons", "contoso east"]
    assert names("Microsoft.Dynamics.CRM.NotEqualUserId(PropertyName='ownerid')") == ["Fabrikam, Inc.", "Litware"]
    assert names("Microsoft.Dynamics.CRM.EqualUserOrUserTeams(PropertyName='ownerid')") == [
        "Adventure Works", "Contoso Ltd", "O'Brien & Sons", "contoso east"]


def test_in_not_in_between() -> None:
    assert names('Microsoft.Dynamics.CRM.In(PropertyName=\'name\',PropertyValues=["litware","Contoso Ltd"])') == [
        "Contoso Ltd", "Litware"]
    assert names("Microsoft.Dynamics.CRM.NotIn(PropertyName='statecode',PropertyValues=[\"0\"])") == [
        "O'Brien & Sons"]
    assert names('Microsoft.Dynamics.CRM.Between(PropertyName=\'numberofemployees\',PropertyValues=["8","120"])') == [
        "Fabrikam, Inc.", "Litware", "O'Brien & Sons"]
    assert names('Microsoft.Dynamics.CRM.In(PropertyName=\'name\',PropertyValues=["O\'Brien & Sons"])') == [
        "O'Brien & Sons"]


def test_query_function_without_namespace_is_rejected() -> None:
    err = error("ThisMonth(PropertyName='createdon')")
    assert err.code == "0x80060888"
    assert err.message.startswith("An unknown function with name 'ThisMonth' was found.")


def test_unknown_property_message() -> None:
    err = error("bogus eq 1")
    assert (err.code, err.message) == (
        "0x80060888", "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.account'.")
    assert "named 'nope'" in error("Microsoft.Dynamics.CRM.Today(PropertyName='nope')").message
    assert "named 'bogus' on type 'Microsoft.Dynamics.CRM.task'" in error("Account_Tasks/any(t:t/bogus eq 1)").message


def test_unterminated_literal_reports_position_like_dataverse() -> None:
    err = error("lastname eq 'O'Bryan'", "contact")
    assert err.message == "There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''."


@pytest.mark.parametrize("text", [
    "", "name eq", "name eq 'x' and", "(name eq 'x'", "name eq 'x')", "name 'x'", "name eq 'x' or or",
    "revenue", "name eq 1 2", "Account_Tasks/any(t:t/statecode)", "Account_Tasks eq null", "name/x eq 1",
    "contains(revenue,'1')", "name eq #", "primarycontactid/contact_customer_accounts/any(c:c/jobtitle eq 'x')",
    "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon')", "Microsoft.Dynamics.CRM.Nope(PropertyName='name')",
    "createdon eq 2024-02-30", "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=[\"a\" \"b\"])",
])
def test_malformed_filters_are_400s(text: str) -> None:
    assert error(text).code == "0x80060888"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"()'\"/,:=[] -._@$eqnotandr0123456789abcdefxyzAT",
    "name", "revenue", "statecode", "Account_Tasks", "any", "all", "contains(", "null", "true", "t:t/",
    "Microsoft.Dynamics.CRM.", "primarycontactid", "_ownerid_value", "2024-01-31", " eq ", " and ", " or ", "not ",
    "Between(PropertyName='createdon',PropertyValues=[", "LastXDays(PropertyName='createdon',PropertyValue=",
]), max_size=30).map("".join))
def test_arbitrary_text_never_crashes_with_anything_but_a_sandbox_error(text: str) -> None:
    try:
        keep = compile_filter(text, DATASET.table("account"), DATASET, CTX)
        for row in DATASET.rows("account"):
            assert keep(row) in (True, False)
    except SandboxError as err:
        assert err.status == 400


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_never_crashes(text: str) -> None:
    with contextlib.suppress(SandboxError):
        compile_filter(text, DATASET.table("account"), DATASET, CTX)


def test_deep_nesting_is_a_400_not_a_crash() -> None:
    assert error("(" * 500 + "name eq 'x'" + ")" * 500).status == 400
    assert error("not " * 5000 + "donotemail").status == 400


def test_ids_used_in_tests_are_lower_case() -> None:
    assert names(f"accountid eq {ACC[0].upper()}") == ["Contoso Ltd"]
