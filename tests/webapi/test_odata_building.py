"""OData building blocks: string literals, GUIDs, identifiers, $orderby and expression checks, query encoding."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from dataverse.webapi.odata import (
    encode_query,
    format_guid,
    quote_string,
    record_path,
    select_option,
    validate_identifier,
    validate_logical_name,
    validate_orderby,
    validate_query_expression,
)


@pytest.mark.parametrize(
    ("value", "literal"),
    [("O'Bryan", "'O''Bryan'"), ("", "''"), ("''", "''''''"), ("a&b #c", "'a&b #c'"), ("Zoë", "'Zoë'")],
)
def test_quote_string_doubles_single_quotes(value, literal):
    assert quote_string(value) == literal


@pytest.mark.parametrize(
    "value",
    [
        "7D716234-0B3F-EE11-BDF4-000D3A1B2C3D",
        "{7d716234-0b3f-ee11-bdf4-000d3a1b2c3d}",
        " 7d716234-0b3f-ee11-bdf4-000d3a1b2c3d ",
    ],
)
def test_format_guid_gives_the_canonical_lower_case_form(value):
    assert format_guid(value) == "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "7d716234",
        "7d716234-0b3f-ee11-bdf4-000d3a1b2c3",
        "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d)/x",
        "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d?$top=1",
        "7d7162340b3fee11bdf4000d3a1b2c3d",
        "zd716234-0b3f-ee11-bdf4-000d3a1b2c3d",
        "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d\nX-Evil: 1",
        None,
    ],
)
def test_format_guid_rejects_anything_else_with_a_clear_message(value):
    with pytest.raises(ValueError, match="is not a record id: expected a GUID"):
        format_guid(value)


@pytest.mark.parametrize("name", ["account", "new_projectid", "_parentcustomerid_value", "Account_Tasks", "a" * 128])
def test_identifiers_accept_dataverse_names(name):
    assert validate_identifier(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1account",
        "account/x",
        "accounts(1)",
        "accounts?$top=1",
        "na me",
        "ac-count",
        "accounts#",
        "a" * 129,
        "accоunt",
    ],  # the last has a Cyrillic о
)
def test_identifiers_reject_anything_that_could_change_a_path(name):
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        validate_identifier(name, kind="column name")


def test_logical_names_are_lower_case_only():
    assert validate_logical_name("new_project") == "new_project"
    with pytest.raises(ValueError, match="lower-case"):
        validate_logical_name("Account")


def test_record_path_combines_a_valid_set_and_id():
    assert record_path("accounts", "{7D716234-0B3F-EE11-BDF4-000D3A1B2C3D}") == (
        "accounts(7d716234-0b3f-ee11-bdf4-000d3a1b2c3d)"
    )


def test_select_needs_a_list_of_valid_names():
    assert select_option(["name", "revenue"]) == "name,revenue"
    with pytest.raises(TypeError):
        select_option("name,revenue")
    with pytest.raises(ValueError):
        select_option(["name", "revenue,$top=1"])


@pytest.mark.parametrize("orderby", ["name", "name desc", "revenue desc, name asc", "primarycontactid/fullname"])
def test_orderby_accepts_columns_and_directions(orderby):
    assert validate_orderby(orderby)


@pytest.mark.parametrize("orderby", ["name&$top=1", "name desc desc", "name; drop", "", "name sideways"])
def test_orderby_rejects_anything_else(orderby):
    with pytest.raises(ValueError, match=r"\$orderby"):
        validate_orderby(orderby)


@pytest.mark.parametrize(
    "expression",
    [
        "name eq 'A&B #1?'",
        "name eq 'O''Bryan' and revenue gt 10",
        'Microsoft.Dynamics.CRM.In(PropertyName=\'name\',PropertyValues=["a","b"])',
        "Account_Tasks/any(t:t/statecode eq 1)",
    ],
)
def test_expressions_may_hold_anything_inside_string_literals(expression):
    assert validate_query_expression(expression) == expression


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("name eq 'x'&$top=1", "'&' outside a quoted string"),
        ("name eq 'x'#", "'#' outside a quoted string"),
        ("name eq 'x'?$top=1", "'?' outside a quoted string"),
        ("name eq 'x", "unterminated string literal"),
        ("name eq 'x'\n", "control character"),
        ("   ", "empty"),
    ],
)
def test_expressions_cannot_smuggle_parameters(expression, problem):
    with pytest.raises(ValueError, match=problem):
        validate_query_expression(expression)


def test_encode_query_keeps_option_names_and_encodes_separators_in_values():
    query = encode_query({"$filter": "name eq 'a&b=c #d +e'", "$select": "name,revenue"})
    assert query.startswith("$filter=")
    parts = query.split("&")
    assert len(parts) == 2
    assert unquote(parts[0].split("=", 1)[1]) == "name eq 'a&b=c #d +e'"
    assert "+" not in query and " " not in query and "#" not in query
    with pytest.raises(ValueError):
        encode_query({"$filter&x": "1"})
