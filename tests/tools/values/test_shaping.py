"""Shaping raw Dataverse rows for a model: no OData noise, lookups/choices/money/dates in one predictable form, and
a fraction of the bytes."""

from __future__ import annotations

import json

from dataverse.tools.values.shaping import shape_row
from dataverse.webapi.models import ColumnMetadata

FV = "@OData.Community.Display.V1.FormattedValue"
LOOKUP = "@Microsoft.Dynamics.CRM.lookuplogicalname"
NAV = "@Microsoft.Dynamics.CRM.associatednavigationproperty"


def raw_opportunity(index: int = 1) -> dict:
    """An opportunity row as Dataverse sends it with odata.include-annotations="*" (PD query-data sample shape)."""
    return {
        "@odata.etag": f'W/"8105{index:04d}"',
        "opportunityid": f"7d716234-0000-4000-8000-{index:012d}",
        "name": f"Contoso expansion {index}",
        "estimatedvalue@OData.Community.Display.V1.FormattedValue": "$20,000.00",
        "estimatedvalue": 20000.0,
        "estimatedclosedate@OData.Community.Display.V1.FormattedValue": "11/30/2026",
        "estimatedclosedate": "2026-11-30",
        "statecode@OData.Community.Display.V1.FormattedValue": "Open",
        "statecode": 0,
        "statuscode@OData.Community.Display.V1.FormattedValue": "In Progress",
        "statuscode": 1,
        "_customerid_value@OData.Community.Display.V1.FormattedValue": "Contoso Ltd",
        "_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "customerid_account",
        "_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
        "_customerid_value": "a1b2c3d4-0000-4000-8000-000000000001",
        "_ownerid_value@OData.Community.Display.V1.FormattedValue": "Alice Anders",
        "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "owninguser",
        "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
        "_ownerid_value": "5e000000-0000-4000-8000-0000000a11ce",
        "_transactioncurrencyid_value@OData.Community.Display.V1.FormattedValue": "US Dollar",
        "_transactioncurrencyid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "transactioncurrencyid",
        "_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "transactioncurrency",
        "_transactioncurrencyid_value": "c0ffee00-0000-4000-8000-000000000001",
        "createdon@OData.Community.Display.V1.FormattedValue": "11/2/2026 7:30 PM",
        "createdon": "2026-11-03T00:30:00Z",
        "_parentaccountid_value": None,
        "description": None,
    }


COLUMNS = {
    "estimatedvalue": ColumnMetadata("estimatedvalue", "Money", "Est. Revenue", "None", True, True),
    "statecode": ColumnMetadata("statecode", "State", "Status", "SystemRequired", False, True),
    "statuscode": ColumnMetadata("statuscode", "Status", "Status Reason", "None", True, True),
    "customerid": ColumnMetadata("customerid", "Customer", "Customer", "None", True, True,
                                 targets=["account", "contact"]),
    "parentaccountid": ColumnMetadata("parentaccountid", "Lookup", "Account", "None", True, True,
                                      targets=["account"]),
}


def test_annotations_and_etag_are_removed_and_nulls_dropped():
    shaped = shape_row(raw_opportunity(), COLUMNS)
    assert not [key for key in shaped if "@" in key]
    assert "parentaccountid" not in shaped and "description" not in shaped
    assert "_customerid_value" not in shaped


def test_lookup_becomes_table_id_name_under_logical_name():
    shaped = shape_row(raw_opportunity(), COLUMNS)
    assert shaped["customerid"] == {"table": "account", "id": "a1b2c3d4-0000-4000-8000-000000000001",
                                    "name": "Contoso Ltd"}
    assert shaped["ownerid"]["table"] == "systemuser"


def test_lookup_without_annotations_takes_table_from_single_target_metadata():
    raw = {"_parentaccountid_value": "a1b2c3d4-0000-4000-8000-000000000009"}
    assert shape_row(raw, COLUMNS) == {
        "parentaccountid": {"table": "account", "id": "a1b2c3d4-0000-4000-8000-000000000009"}}


def test_choices_are_value_and_label_money_is_a_plain_number():
    shaped = shape_row(raw_opportunity(), COLUMNS)
    assert shaped["statecode"] == {"value": 0, "label": "Open"}
    assert shaped["statuscode"] == {"value": 1, "label": "In Progress"}
    assert shaped["estimatedvalue"] == 20000.0


def test_date_only_stays_iso_and_datetime_is_given_in_the_users_zone():
    shaped = shape_row(raw_opportunity(), COLUMNS)
    assert shaped["estimatedclosedate"] == "2026-11-30"
    # 00:30 UTC on the 3rd is 7:30 PM on the 2nd for this user: the same instant, at the user's offset
    assert shaped["createdon"] == "2026-11-02T19:30:00-05:00"
    assert not [key for key in shaped if key.endswith("_local")]


def test_user_time_keeps_seconds_and_uses_z_for_a_zero_offset():
    raw = {"createdon": "2026-01-15T09:05:41Z", "createdon" + FV: "15/01/2026 09:05",
           "modifiedon": "2026-07-01T23:59:10Z", "modifiedon" + FV: "7/2/2026 5:29 AM"}  # India, +05:30
    assert shape_row(raw) == {"createdon": "2026-01-15T09:05:41Z", "modifiedon": "2026-07-02T05:29:10+05:30"}


def test_unreadable_local_rendering_keeps_utc_and_adds_it_beside():
    raw = {"scheduledstart": "2026-01-15T09:05:00Z", "scheduledstart" + FV: "15. januar 2026 kl. 10.05"}
    assert shape_row(raw) == {"scheduledstart": "2026-01-15T09:05:00Z",
                              "scheduledstart_local": "15. januar 2026 kl. 10.05"}


def test_without_metadata_annotations_decide_choices_versus_formatted_numbers():
    raw = {
        "stage": 1, "stage" + FV: "Develop",
        "employees": 1250, "employees" + FV: "1,250",
        "n": 3,
        "donotemail": False, "donotemail" + FV: "Allow",
    }
    assert shape_row(raw) == {"stage": {"value": 1, "label": "Develop"}, "employees": 1250, "n": 3,
                              "donotemail": False}


def test_fetchxml_link_entity_columns_keep_their_alias():
    raw = {
        "accountid": "a1", "name": "Contoso",
        "c.fullname": "Jim Glynn",
        "c.parentcustomerid": "a1", "c.parentcustomerid" + LOOKUP: "account", "c.parentcustomerid" + FV: "Contoso",
    }
    shaped = shape_row(raw)
    assert shaped["c.fullname"] == "Jim Glynn"
    assert shaped["c.parentcustomerid"] == {"table": "account", "id": "a1", "name": "Contoso"}


def test_expanded_records_are_shaped_recursively_and_next_links_dropped():
    raw = {
        "name": "Contoso",
        "primarycontactid": {"@odata.etag": 'W/"1"', "contactid": "c1", "fullname": "Yvonne",
                             "_parentcustomerid_value": "a1", "_parentcustomerid_value" + LOOKUP: "account"},
        "Account_Tasks": [{"@odata.etag": 'W/"2"', "subject": "Call", "statecode": 0, "statecode" + FV: "Open"}],
        "Account_Tasks@odata.nextLink": "https://org.crm.dynamics.com/api/data/v9.2/accounts(a1)/Account_Tasks",
    }
    assert shape_row(raw) == {
        "name": "Contoso",
        "primarycontactid": {"contactid": "c1", "fullname": "Yvonne", "parentcustomerid": {"table": "account",
                                                                                          "id": "a1"}},
        "Account_Tasks": [{"subject": "Call", "statecode": {"value": 0, "label": "Open"}}],
    }


def test_multi_select_choice_becomes_a_list_of_value_label_pairs():
    columns = {"hobbies": ColumnMetadata("hobbies", "MultiSelectPicklist", "Hobbies", "None", True, True)}
    raw = {"hobbies": "1,3", "hobbies" + FV: "Golf; Sailing"}
    assert shape_row(raw, columns) == {"hobbies": [{"value": 1, "label": "Golf"}, {"value": 3, "label": "Sailing"}]}


def test_shaped_rows_are_at_most_40_percent_of_raw_bytes():
    raw_rows = [raw_opportunity(index) for index in range(50)]
    raw_bytes = len(json.dumps({"value": raw_rows}, separators=(",", ":")))
    shaped_bytes = len(json.dumps([shape_row(row, COLUMNS) for row in raw_rows], separators=(",", ":")))
    assert shaped_bytes <= 0.40 * raw_bytes, (shaped_bytes, raw_bytes, shaped_bytes / raw_bytes)


def test_a_lookup_selected_and_expanded_under_one_name_keeps_both():
    raw = {
        "_parentaccountid_value": "a1", "_parentaccountid_value" + LOOKUP: "account",
        "_parentaccountid_value" + FV: "Contoso",
        "parentaccountid": {"accountid": "a1", "name": "Contoso", "revenue": 5.0},
    }
    assert shape_row(raw, COLUMNS) == {"parentaccountid": {
        "table": "account", "id": "a1", "name": "Contoso",
        "expanded": {"accountid": "a1", "name": "Contoso", "revenue": 5.0}}}


def test_an_expanded_collection_cut_at_its_page_says_there_are_more_and_an_unpaged_one_says_nothing():
    base = "https://org.crm.dynamics.com/api/data/v9.2/accounts(1)/contact_customer_accounts"
    cut = shape_row({"name": "Contoso", "contact_customer_accounts": [{"fullname": "Ann"}],
                     "contact_customer_accounts@odata.nextLink": base + "?$skiptoken=%3Ccookie%20pagenumber=%222%22"})
    whole = shape_row({"name": "Contoso", "contact_customer_accounts": [{"fullname": "Ann"}],
                       "contact_customer_accounts@odata.nextLink": base + "?$select=fullname"})
    assert cut["contact_customer_accounts_more"] is True and cut["contact_customer_accounts"] == [{"fullname": "Ann"}]
    assert "contact_customer_accounts_more" not in whole and not [key for key in whole if "@" in key]
