"""Required columns and error answers as Microsoft documents them. Sources: PD = MicrosoftDocs/powerapps-docs
`powerapps-docs/developer/data-platform/`; SA = MicrosoftDocs/SupportArticles-docs
`support/power-platform/dataverse/dataverse-web-api-and-sdk/web-api-client-errors.md`."""

from __future__ import annotations

import re

from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.users import ALICE

ENTITY_ID = re.compile(rf"^{re.escape(BASE_URL)}/api/data/v9\.2/(\w+)\(([0-9a-f-]{{36}})\)$")
MISSING = "00000000-0000-4000-8000-000000000001"


async def test_application_required_columns_are_not_enforced_on_create(alice, org):
    """PD entity-attribute-metadata.md, "Column requirement level": "Dataverse only enforces the SystemRequired
    option ... Dataverse doesn't return an error when a column with ApplicationRequired applied doesn't have a value."
    contact.lastname, opportunity.name and account.name are ApplicationRequired (Business Required)."""
    for entity_set, body in (("contacts", {"firstname": "No last name"}), ("opportunities", {"estimatedvalue": 5}),
                             ("accounts", {"revenue": 5})):
        response = await alice.post(f"{API}/{entity_set}", json=body)
        assert response.status_code == 204, (entity_set, response.text)
    account_id = ENTITY_ID.match(response.headers["odata-entityid"]).group(2)
    assert org.rows["account"][account_id]["name"] is None


async def test_system_required_columns_are_enforced(carol, org):
    """PD entity-attribute-metadata.md: SystemRequired is enforced (role.name and role.businessunitid are
    SystemRequired, PD reference/entities/role.md); update-delete-entities-using-web-api.md: "When this is set to
    SystemRequired, you cannot set these attributes to a null value". The message is not documented."""
    unit = f"/businessunits({org.business_unit_id})"
    missing_name = await carol.post(f"{API}/roles", json={"businessunitid@odata.bind": unit})
    assert missing_name.status_code == 400 and missing_name.json()["error"]["code"] == "0x80040203"
    created = await carol.post(f"{API}/roles", json={"businessunitid@odata.bind": unit, "name": "Example Role"})
    role_id = ENTITY_ID.match(created.headers["odata-entityid"]).group(2)
    assert (await carol.delete(f"{API}/roles({role_id})/name")).status_code == 400
    assert (await carol.patch(f"{API}/roles({role_id})", json={"name": None},
                              headers={"If-Match": "*"})).status_code == 400


async def test_unknown_property_in_a_query_is_0x80060888(alice):
    """SA "Could not find a property named '{property name}' on type 'Microsoft.Dynamics.CRM.{entity name}'": the
    message is the documented one. SA prints code 0x0; the sandbox keeps 0x80060888, the code PD
    webapi/query/join-tables.md shows for the other query-option parse errors."""
    response = await alice.get(f"{API}/accounts?$select=Name")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80060888",
        "message": "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."}


async def test_unknown_property_in_a_create_body(alice):
    """SA "Invalid property {property name} was found in entity 'Microsoft.Dynamics.CRM.{entity name}'"."""
    response = await alice.post(f"{API}/accounts", json={"Name": "Account name"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x0"
    assert error["message"] == (
        "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property 'Name' was "
        "found in entity 'Microsoft.Dynamics.CRM.account'. ---> Microsoft.OData.ODataException: Does not support "
        "untyped value in non-open type.")


async def test_record_not_found(alice):
    """PD webapi/perform-conditional-operations-using-web-api.md ("Prevent create in upsert"): 404 "account With Id
    = <id> Does Not Exist"; the sandbox sends code 0x80040217 (ObjectDoesNotExist) where that page shows ""."""
    for response in (await alice.get(f"{API}/accounts({MISSING})"),
                     await alice.patch(f"{API}/accounts({MISSING})", json={"name": "x"}, headers={"If-Match": "*"}),
                     await alice.delete(f"{API}/accounts({MISSING})")):
        assert response.status_code == 404
        assert response.json()["error"] == {"code": "0x80040217",
                                            "message": f"account With Id = {MISSING} Does Not Exist"}


async def test_unknown_entity_set_or_segment(alice, org):
    """SA "Resource not found for the segment": 404 0x8006088a; names are case-sensitive."""
    response = await alice.get(f"{API}/Account")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "0x8006088a",
                                        "message": "Resource not found for the segment 'Account'."}
    account = next(a for a in org.rows["account"].values() if a["ownerid"].id == ALICE.systemuser_id)
    below = await alice.get(f"{API}/accounts({account['accountid']})/Contact_Customer_Accounts")
    assert below.status_code == 404
    assert below.json()["error"]["message"] == "Resource not found for the segment 'Contact_Customer_Accounts'."


async def test_a_function_called_with_post_is_no_http_resource(alice):
    """SA "No HTTP resource was found that matches the request URI": `POST WhoAmI` answers 404 with an empty code."""
    response = await alice.post(f"{API}/WhoAmI")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "",
        "message": f"No HTTP resource was found that matches the request URI '{BASE_URL}/api/data/v9.2/WhoAmI'."}


async def test_bind_on_a_lookups_logical_name(alice, org):
    """SA "Error identified in Payload provided by the user for Entity": binding `parentcustomerid` (the column)
    instead of `parentcustomerid_account` (the navigation property) is 400 0x80048d19."""
    account = next(a for a in org.rows["account"].values() if a["ownerid"].id == ALICE.systemuser_id)
    response = await alice.post(f"{API}/contacts", json={
        "firstname": "test", "lastname": "contact",
        "parentcustomerid@odata.bind": f"accounts({account['accountid']})"})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "0x80048d19", "message": (
        "Error identified in Payload provided by the user for Entity :'contacts'  ---->  InnerException : "
        "Microsoft.OData.ODataException: An undeclared property 'parentcustomerid' which only has property "
        "annotations in the payload but no property value was found in the payload. In OData, only declared "
        "navigation properties and declared named streams can be represented as properties without values.")}
