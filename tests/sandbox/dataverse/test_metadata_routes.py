"""Metadata over HTTP: EntityDefinitions with $select/$filter (and no $orderby), one table by LogicalName, its
Attributes (typed casts with OptionSet), relationships with the navigation property names @odata.bind needs, and
Label objects shaped as Dataverse's."""

from __future__ import annotations

import pytest
from sandbox_dataverse_support import API, BASE_URL

ENTITY_SELECT = "LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomizable"


async def test_table_list_with_select_and_filter(alice, org):
    response = await alice.get(f"{API}/EntityDefinitions?$select={ENTITY_SELECT}"
                               "&$filter=IsPrivate eq false and IsIntersect eq false")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{BASE_URL}/api/data/v9.2/$metadata#EntityDefinitions({ENTITY_SELECT})"
    by_name = {item["LogicalName"]: item for item in body["value"]}
    assert set(by_name) == set(org.tables)
    account = by_name["account"]
    assert set(account) == set(ENTITY_SELECT.split(",")) | {"MetadataId"}
    assert account["EntitySetName"] == "accounts" and account["PrimaryNameAttribute"] == "name"
    assert account["DisplayName"]["UserLocalizedLabel"]["Label"] == "Account"
    assert account["DisplayName"]["LocalizedLabels"] == [account["DisplayName"]["UserLocalizedLabel"]]
    assert account["DisplayName"]["LocalizedLabels"][0]["LanguageCode"] == 1033
    assert account["IsCustomizable"]["Value"] is True
    assert by_name["usersettings"]["EntitySetName"] == "usersettingscollection"


async def test_filter_narrows_the_table_list(alice):
    body = (await alice.get(f"{API}/EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'contact' or "
                            "(IsActivity eq true and LogicalName ne 'activitypointer')")).json()
    assert {item["LogicalName"] for item in body["value"]} == {"contact", "appointment", "task", "phonecall", "email",
                                                              "opportunityclose"}


@pytest.mark.parametrize("query", ["$orderby=LogicalName", "$top=2", "$filter=contains(LogicalName,'acc')",
                                   "$select=Bogus", "$filter=Bogus eq 1"])
async def test_unsupported_metadata_queries_are_0x80060888(alice, query):
    response = await alice.get(f"{API}/EntityDefinitions?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"


async def test_one_table_by_logical_name(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='opportunity')?$select=LogicalName,"
                            "EntitySetName,PrimaryIdAttribute")).json()
    assert body["@odata.context"].endswith("#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)/$entity")
    assert (body["EntitySetName"], body["PrimaryIdAttribute"]) == ("opportunities", "opportunityid")


async def test_table_by_metadata_id_matches_by_name(alice):
    named = (await alice.get(f"{API}/EntityDefinitions(LogicalName='lead')?$select=LogicalName")).json()
    by_id = (await alice.get(f"{API}/EntityDefinitions({named['MetadataId']})?$select=LogicalName")).json()
    assert by_id["LogicalName"] == "lead"


async def test_unknown_table_is_404(alice):
    response = await alice.get(f"{API}/EntityDefinitions(LogicalName='nosuchtable')")
    assert response.status_code == 404
    assert "nosuchtable" in response.json()["error"]["message"]


async def test_attributes_with_types_requirements_and_validity(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,"
                            "AttributeType,RequiredLevel,IsValidForCreate,IsValidForUpdate,DisplayName")).json()
    assert body["@odata.context"].endswith("#EntityDefinitions('contact')/Attributes(LogicalName,AttributeType,"
                                           "RequiredLevel,IsValidForCreate,IsValidForUpdate,DisplayName)")
    by_name = {item["LogicalName"]: item for item in body["value"]}
    assert by_name["lastname"]["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert by_name["fullname"]["IsValidForCreate"] is False
    assert by_name["parentcustomerid"]["AttributeType"] == "Customer"
    assert by_name["ownerid"]["AttributeType"] == "Owner"
    assert by_name["statecode"]["AttributeType"] == "State"
    assert by_name["contactid"]["@odata.type"] == "#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata"


async def test_attribute_filter_by_type_enum(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName"
                            "&$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Money'")).json()
    assert [item["LogicalName"] for item in body["value"]] == ["revenue"]


async def test_picklist_cast_with_option_sets(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='opportunity')/Attributes/"
                            "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName"
                            "&$expand=OptionSet,GlobalOptionSet")).json()
    assert body["@odata.context"].endswith("/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata("
                                           "LogicalName,OptionSet,GlobalOptionSet)")
    by_name = {item["LogicalName"]: item for item in body["value"]}
    assert set(by_name) == {"salesstage", "opportunityratingcode"}
    stage_options = by_name["salesstage"]["OptionSet"]["Options"]
    options = {o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"] for o in stage_options}
    assert options == {0: "Qualify", 1: "Develop", 2: "Propose", 3: "Close"}
    assert by_name["salesstage"]["GlobalOptionSet"] is None


async def test_status_cast_options_carry_their_state(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='opportunity')/Attributes/"
                            "Microsoft.Dynamics.CRM.StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet")).json()
    options = {o["Value"]: o["State"] for o in body["value"][0]["OptionSet"]["Options"]}
    assert options == {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}


async def test_boolean_cast_has_true_and_false_options(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='contact')/Attributes/"
                            "Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$select=LogicalName&$expand=OptionSet")).json()
    donotemail = next(item for item in body["value"] if item["LogicalName"] == "donotemail")
    assert donotemail["OptionSet"]["TrueOption"]["Label"]["UserLocalizedLabel"]["Label"] == "Do Not Allow"
    assert donotemail["OptionSet"]["FalseOption"]["Value"] == 0


async def test_option_set_needs_the_cast(alice):
    response = await alice.get(f"{API}/EntityDefinitions(LogicalName='account')/Attributes?$expand=OptionSet")
    assert response.status_code == 400


async def test_single_attribute_by_logical_name(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')"
                            "?$select=LogicalName,MaxLength")).json()
    assert body["LogicalName"] == "name" and body["MaxLength"] == 160


async def test_many_to_one_relationships_name_the_bind_property(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='opportunity')/ManyToOneRelationships"
                            "?$select=ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName")).json()
    pairs = {(r["ReferencingAttribute"], r["ReferencedEntity"]): r["ReferencingEntityNavigationPropertyName"]
             for r in body["value"]}
    assert pairs[("customerid", "account")] == "customerid_account"
    assert pairs[("customerid", "contact")] == "customerid_contact"
    assert pairs[("parentaccountid", "account")] == "parentaccountid"


async def test_one_to_many_relationships_carry_cascade_configuration(alice):
    body = (await alice.get(f"{API}/EntityDefinitions(LogicalName='account')/OneToManyRelationships")).json()
    by_schema = {r["SchemaName"]: r for r in body["value"]}
    assert by_schema["contact_customer_accounts"]["CascadeConfiguration"]["Delete"] == "Cascade"
    contacts = by_schema["contact_customer_accounts"]
    assert contacts["ReferencingEntityNavigationPropertyName"] == "parentcustomerid_account"
    assert by_schema["Account_Appointments"]["ReferencedEntityNavigationPropertyName"] == "Account_Appointments"


async def test_metadata_is_read_only(alice):
    response = await alice.post(f"{API}/EntityDefinitions", json={})
    assert response.status_code == 405
