"""Actions and functions on the wire, from the documented examples: the exact request (method, URL, @p aliases,
headers, JSON body with typed entity references) and the documented answers (204, complex types, entities,
collections); actions are never retried, functions are retried like reads."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from dataverse.webapi import (
    ActionDefinition,
    DataverseConnectionError,
    EntityReference,
    EnumValue,
    NotFoundError,
    OperationParameter,
    OutcomeUnknownError,
    ThrottledError,
)

ORG = "https://contoso.crm.dynamics.com"
API = f"{ORG}/api/data/v9.2/"
OPPORTUNITY = "b3828ac8-917a-e511-80d2-00155d2a68d2"
LEAD = "a9b4c6a2-1a2b-e611-80d2-00155d2a68d2"
ACCOUNT = "7d716234-0b3f-ee11-bdf4-000d3a1b2c3d"
USER = "5e000000-0000-4000-8000-0000000a11ce"
NO_CONTENT = httpx.Response(204, headers={"OData-Version": "4.0"})
WIN_DEFINITION = ActionDefinition("WinOpportunity", "action", None, False, (
    OperationParameter("OpportunityClose", "mscrm.opportunityclose", False),
    OperationParameter("Status", "Edm.Int32", False)), None)
QUALIFY_DEFINITION = ActionDefinition("QualifyLead", "action", "lead", False, (
    OperationParameter("CreateAccount", "Edm.Boolean", False),
    OperationParameter("OpportunityCustomerId", "mscrm.crmbaseentity", True),
    OperationParameter("Status", "Edm.Int32", False)), "Collection(mscrm.crmbaseentity)")


def body_of(request: httpx.Request) -> dict:
    return json.loads(request.content)


async def test_win_opportunity_is_a_post_to_the_plain_name_with_the_documented_body(harness):
    h = harness(NO_CONTENT)
    close = {"subject": "Won Opportunity", "opportunityid@odata.bind": f"{API}opportunities({OPPORTUNITY})"}
    result = await h.client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": close})
    assert result is None
    request = h.last
    assert (request.method, str(request.url)) == ("POST", f"{API}WinOpportunity")
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["Accept"] == "application/json"
    assert (request.headers["OData-MaxVersion"], request.headers["OData-Version"]) == ("4.0", "4.0")
    assert body_of(request) == {"Status": 3, "OpportunityClose": close}


async def test_a_bound_action_uses_the_namespace_and_types_entity_references(harness):
    created = {"@odata.context": f"{API}$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)", "value": [
        {"@odata.type": "#Microsoft.Dynamics.CRM.opportunity", "opportunityid": OPPORTUNITY}]}
    h = harness(httpx.Response(200, json=created))
    result = await h.client.invoke_action("QualifyLead", {
        "CreateAccount": False, "CreateContact": False, "CreateOpportunity": True, "Status": 3,
        "OpportunityCustomerId": EntityReference("account", ACCOUNT)}, entity_set="leads", record_id=LEAD.upper())
    assert str(h.last.url) == f"{API}leads({LEAD})/Microsoft.Dynamics.CRM.QualifyLead"
    assert body_of(h.last)["OpportunityCustomerId"] == {"@odata.type": "Microsoft.Dynamics.CRM.account",
                                                        "accountid": ACCOUNT}
    assert result == created["value"]


async def test_an_action_bound_to_a_collection_has_no_key(harness):
    h = harness(NO_CONTENT)
    await h.client.invoke_action("ExportTranslation", {"SolutionName": "Sample"}, entity_set="solutions")
    assert str(h.last.url) == f"{API}solutions/Microsoft.Dynamics.CRM.ExportTranslation"


async def test_an_activity_reference_names_its_key_and_enums_are_members_in_a_body(harness):
    h = harness(NO_CONTENT)
    await h.client.invoke_action("GrantAccess", {
        "Target": EntityReference("task", ACCOUNT, primary_id="activityid"),
        "PrincipalAccess": {"AccessMask": EnumValue("AccessRights", "DeleteAccess"),
                            "Principal": EntityReference("systemuser", USER)}})
    assert body_of(h.last) == {
        "Target": {"@odata.type": "Microsoft.Dynamics.CRM.task", "activityid": ACCOUNT},
        "PrincipalAccess": {"AccessMask": "DeleteAccess",
                            "Principal": {"@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid": USER}}}


async def test_a_function_without_parameters_is_a_get_with_empty_parentheses(harness):
    whoami = {"@odata.context": f"{API}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
              "BusinessUnitId": ACCOUNT, "UserId": USER, "OrganizationId": LEAD}
    h = harness(httpx.Response(200, json=whoami))
    result = await h.client.invoke_function("WhoAmI")
    assert (h.last.method, str(h.last.url)) == ("GET", f"{API}WhoAmI()")
    assert "Content-Type" not in h.last.headers and h.last.content == b""
    assert result == {"BusinessUnitId": ACCOUNT, "UserId": USER, "OrganizationId": LEAD}


async def test_function_parameters_travel_as_aliases_and_the_documented_answer_is_read(harness):
    answer = {"@odata.context": f"{API}$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse",
              "EntityRecordCountCollection": {"Count": 2, "IsReadOnly": False, "Keys": ["account", "contact"],
                                              "Values": [19, 3]}}
    h = harness(httpx.Response(200, json=answer))
    result = await h.client.invoke_function("RetrieveTotalRecordCount", {"EntityNames": ["account", "contact"]})
    assert h.path() == "/api/data/v9.2/RetrieveTotalRecordCount(EntityNames=@p1)"
    assert h.params() == [("@p1", '["account","contact"]')]
    assert result == {"EntityRecordCountCollection": answer["EntityRecordCountCollection"]}


async def test_every_kind_of_function_value_is_written_as_odata_expects(harness):
    h = harness(httpx.Response(200, json={"@odata.context": f"{API}$metadata#Microsoft.Dynamics.CRM.XResponse"}))
    await h.client.invoke_function("FormatAddress", {
        "Line1": "O'Neil & Sons #1", "Count": 5, "Ratio": 0.5, "Flag": True, "Nothing": None,
        "Access": EnumValue("EndpointAccessType", "Default"),
        "Target": EntityReference("account", ACCOUNT, entity_set="accounts"),
        "Paging": {"PageNumber": 1, "Count": 2, "ReturnTotalRecordCount": True}})
    assert h.path().startswith("/api/data/v9.2/FormatAddress(Line1=@p1,Count=@p2,Ratio=@p3,Flag=@p4,Nothing=@p5,")
    assert h.params() == [
        ("@p1", "'O''Neil & Sons #1'"), ("@p2", "5"), ("@p3", "0.5"), ("@p4", "true"), ("@p5", "null"),
        ("@p6", "Microsoft.Dynamics.CRM.EndpointAccessType'Default'"),
        ("@p7", f"{{'@odata.id':'accounts({ACCOUNT})'}}"),
        ("@p8", '{"PageNumber":1,"Count":2,"ReturnTotalRecordCount":true}'),
    ]
    assert "+" not in h.last.url.raw_path.decode()  # spaces travel as %20 (the harness splits on raw & and =)


async def test_a_bound_function_with_a_record_reference(harness):
    h = harness(httpx.Response(200, json={
        "@odata.context": f"{API}$metadata#Microsoft.Dynamics.CRM.RetrievePrincipalAccessResponse",
        "AccessRights": "ReadAccess, WriteAccess, DeleteAccess, ShareAccess"}))
    result = await h.client.invoke_function("RetrievePrincipalAccess",
                                            {"Target": EntityReference("account", ACCOUNT, entity_set="accounts")},
                                            entity_set="systemusers", record_id=USER)
    assert h.path() == f"/api/data/v9.2/systemusers({USER})/Microsoft.Dynamics.CRM.RetrievePrincipalAccess(Target=@p1)"
    assert result == {"AccessRights": "ReadAccess, WriteAccess, DeleteAccess, ShareAccess"}


async def test_an_entity_answer_is_returned_as_its_row(harness):
    entity = {"@odata.context": f"{API}$metadata#accounts/$entity", "@odata.type": "#Microsoft.Dynamics.CRM.account",
              "parentaccountid@odata.bind": f"accounts({ACCOUNT})", "address1_city": "Redmond"}
    h = harness(httpx.Response(200, json=entity, headers={"Preference-Applied": "return=representation"}))
    result = await h.client.invoke_function("InitializeFrom", {
        "EntityMoniker": EntityReference("account", ACCOUNT, entity_set="accounts"), "TargetEntityName": "account",
        "TargetFieldType": EnumValue("TargetFieldType", "All")})
    assert result == {key: value for key, value in entity.items() if key != "@odata.context"}


async def test_an_action_that_fails_after_sending_is_an_unknown_outcome_and_is_sent_once(harness):
    h = harness(httpx.Response(503, json={"error": {"code": "", "message": "Service Unavailable"}}))
    with pytest.raises(OutcomeUnknownError) as caught:
        await h.client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": {}})
    assert len(h.requests) == 1
    assert "Read the records WinOpportunity changes" in str(caught.value)


async def test_an_action_whose_answer_was_lost_is_an_unknown_outcome(harness):
    h = harness(httpx.ReadTimeout("no answer"))
    with pytest.raises(OutcomeUnknownError):
        await h.client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": {}})
    assert len(h.requests) == 1


async def test_a_throttled_action_is_not_retried_and_nothing_ran(harness):
    h = harness(httpx.Response(429, headers={"Retry-After": "3"},
                               json={"error": {"code": "0x80072322", "message": "Number of requests exceeded"}}))
    with pytest.raises(ThrottledError) as caught:
        await h.client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": {}})
    assert caught.value.retry_after == 3 and len(h.requests) == 1


async def test_an_action_that_could_not_connect_changed_nothing(harness):
    h = harness(httpx.ConnectError("refused"))
    with pytest.raises(DataverseConnectionError, match="nothing was changed"):
        await h.client.invoke_action("WinOpportunity", {"Status": 3, "OpportunityClose": {}})


async def test_a_function_is_retried_like_a_read(harness):
    h = harness(httpx.Response(503, json={"error": {"code": "", "message": "busy"}}),
                httpx.Response(200, json={"@odata.context": f"{API}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                                          "UserId": USER}))
    assert (await h.client.invoke_function("WhoAmI")) == {"UserId": USER}
    assert len(h.requests) == 2 and h.sleeps


async def test_an_unknown_operation_is_not_found_with_the_documented_body(harness):
    h = harness(httpx.Response(404, json={"error": {"code": "0x8006088a",
                                                    "message": "Resource not found for the segment 'WinOpp'."}}))
    with pytest.raises(NotFoundError) as caught:
        await h.client.invoke_action("WinOpp", {})
    assert caught.value.code == "0x8006088a"


@pytest.mark.parametrize(("parameters", "message"), [
    ({"status": 3, "OpportunityClose": {}}, "did you mean 'Status'"),
    ({"OpportunityClose": {}}, re.escape("needs ['Status']")),
])
async def test_a_definition_catches_wrong_parameters_before_sending(harness, parameters, message):
    h = harness(NO_CONTENT)
    with pytest.raises(ValueError, match=message):
        await h.client.invoke_action("WinOpportunity", parameters, definition=WIN_DEFINITION)
    assert h.requests == []


async def test_an_untyped_object_for_crmbaseentity_is_refused_before_sending(harness):
    h = harness(NO_CONTENT)
    with pytest.raises(ValueError, match="EntityReference"):
        await h.client.invoke_action("QualifyLead", {"CreateAccount": False, "Status": 3,
                                                     "OpportunityCustomerId": {"accountid": ACCOUNT}},
                                     entity_set="leads", record_id=LEAD, definition=QUALIFY_DEFINITION)
    assert h.requests == []


@pytest.mark.parametrize(("call", "options"), [
    ("Win Opportunity", {}),
    ("WinOpportunity", {"record_id": LEAD}),
    ("WinOpportunity", {"entity_set": "leads')/x", "record_id": LEAD}),
    ("WinOpportunity", {"entity_set": "leads", "record_id": "not-a-guid"}),
])
async def test_names_and_bindings_that_could_change_the_path_are_refused(harness, call, options):
    h = harness(NO_CONTENT)
    with pytest.raises(ValueError):
        await h.client.invoke_action(call, {}, **options)
    assert h.requests == []


async def test_a_record_reference_in_a_function_needs_its_entity_set(harness):
    h = harness(NO_CONTENT)
    with pytest.raises(ValueError, match="entity set"):
        await h.client.invoke_function("RetrievePrincipalAccess", {"Target": EntityReference("account", ACCOUNT)},
                                       entity_set="systemusers", record_id=USER)
    assert h.requests == []
