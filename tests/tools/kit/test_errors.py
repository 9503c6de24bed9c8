"""Error messages tell the model what went wrong and how to change the call."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from dataverse.tools.kit.errors import (
    DataverseRefusedError,
    InvalidArgumentError,
    InvalidFetchXmlQueryError,
    Target,
    dataverse_errors,
    nearest_names,
    translate_dataverse_error,
    unknown_columns_error,
    unknown_table_error,
)
from dataverse.webapi import errors as dv
from dataverse.webapi.fetchxml import validate_fetch_xml


def test_every_tool_error_is_an_mcp_tool_error():
    assert issubclass(DataverseRefusedError, ToolError) and issubclass(InvalidArgumentError, ToolError)


def test_unknown_table_suggests_the_nearest_names():
    message = str(unknown_table_error("oportunity", ["account", "contact", "opportunity", "opportunityproduct"]))
    assert "'oportunity'" in message and "Did you mean: opportunity" in message and "list_tables" in message


def test_unknown_table_without_close_names_still_says_how_to_find_one():
    message = str(unknown_table_error("zzz", ["account", "contact"]))
    assert "Did you mean" not in message and "list_tables" in message


def test_unknown_column_lists_the_valid_ones_and_suggests_the_closest():
    message = str(unknown_columns_error("account", ["nmae"], ["name", "accountid", "revenue"]))
    assert "did you mean name" in message
    assert "Valid columns: accountid, name, revenue" in message


def test_nearest_names_include_substring_matches():
    assert "new_projectphase" in nearest_names("project", ["account", "new_projectphase"])


def test_throttling_says_when_to_retry():
    error = dv.ThrottledError("Number of requests exceeded the limit of 6000", retry_after=17.2, status=429)
    message = str(translate_dataverse_error(error))
    assert "throttled" in message and "retry after 18 s" in message


def test_permission_denied_says_retrying_will_not_help():
    error = dv.PermissionDeniedError("Principal user is missing prvReadAccount privilege", status=403,
                                     code="0x80040220")
    message = str(translate_dataverse_error(error))
    assert "prvReadAccount" in message and "will not help" in message


def test_not_found_names_the_record():
    error = dv.NotFoundError("account With Id = 1 Does Not Exist", status=404)
    message = str(translate_dataverse_error(error, Target(table="account", record_id="1a2b")))
    assert "No account with id 1a2b" in message


def test_rejected_filter_carries_dataverses_message_and_syntax_help():
    error = dv.BadRequestError("There is an unterminated literal at position 12 in 'name eq 'O'Bryan'.", status=400)
    message = str(translate_dataverse_error(error))
    assert "unterminated literal at position 12" in message and "double a quote" in message


def test_unknown_property_points_to_describe_table_and_lookup_spelling():
    error = dv.BadRequestError(
        "Could not find a property named 'customerid' on type 'Microsoft.Dynamics.CRM.opportunity'.",
        status=400, code="0x80060888")
    message = str(translate_dataverse_error(error))
    assert "describe_table('opportunity')" in message and "_customerid_value" in message


@pytest.mark.parametrize(
    ("fetch_xml", "expected"),
    [
        ("<fetch><entity name='account'>", "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><fetch><entity name="account"/></fetch>', "DTD"),
        ("<fetch><entity name='account'><attribute name='" + "x" * 40_000 + "'/></entity></fetch>", "limit"),
        ("<query/>", "<fetch> as its root"),
    ],
)
def test_fetchxml_problems_become_fixable_argument_errors(fetch_xml: str, expected: str):
    with pytest.raises(InvalidFetchXmlQueryError) as raised:
        with dataverse_errors():
            validate_fetch_xml(fetch_xml)
    assert expected in str(raised.value) and "<entity name=" in str(raised.value)


def test_client_side_argument_checks_become_argument_errors():
    with pytest.raises(InvalidArgumentError, match="outside a quoted string"):
        with dataverse_errors():
            from dataverse.webapi.odata import validate_query_expression

            validate_query_expression("name eq 'x'&$top=5000")
