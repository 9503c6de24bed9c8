"""Action and function definitions from a CSDL $metadata document: kinds, bindings (record, collection, none),
parameters with their types and nullability, return types; the request that fetches the document; documents that
are not CSDL or that try XML entity expansion are refused."""

from __future__ import annotations

import httpx
import pytest

from dataverse.webapi import DataverseError, find_operation, parse_operation_definitions

CSDL = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="lead" BaseType="mscrm.crmbaseentity">
        <Key><PropertyRef Name="leadid" /></Key>
        <Property Name="leadid" Type="Edm.Guid" />
      </EntityType>
      <ComplexType Name="WhoAmIResponse">
        <Property Name="UserId" Type="Edm.Guid" Nullable="false" />
      </ComplexType>
      <Function Name="WhoAmI">
        <ReturnType Type="mscrm.WhoAmIResponse" Nullable="false" />
      </Function>
      <Function Name="RetrieveTotalRecordCount">
        <Parameter Name="EntityNames" Type="Collection(Edm.String)" Nullable="false" Unicode="false" />
        <ReturnType Type="mscrm.RetrieveTotalRecordCountResponse" Nullable="false" />
      </Function>
      <Action Name="WinOpportunity">
        <Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" Nullable="false" />
        <Parameter Name="Status" Type="Edm.Int32" Nullable="false" />
      </Action>
      <Action Name="QualifyLead" IsBound="true">
        <Parameter Name="entity" Type="mscrm.lead" Nullable="false" />
        <Parameter Name="CreateAccount" Type="Edm.Boolean" Nullable="false" />
        <Parameter Name="OpportunityCustomerId" Type="mscrm.crmbaseentity" />
        <Parameter Name="Status" Type="Edm.Int32" Nullable="false" />
        <ReturnType Type="Collection(mscrm.crmbaseentity)" Nullable="false" />
      </Action>
      <Action Name="ExportTranslation" IsBound="true">
        <Parameter Name="entityset" Type="Collection(mscrm.solution)" Nullable="false" />
        <Parameter Name="SolutionName" Type="Edm.String" Nullable="false" Unicode="false" />
        <ReturnType Type="mscrm.ExportTranslationResponse" Nullable="false" />
      </Action>
      <EntityContainer Name="System">
        <EntitySet Name="leads" EntityType="Microsoft.Dynamics.CRM.lead" />
        <FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI" IncludeInServiceDocument="false" />
        <ActionImport Name="WinOpportunity" Action="Microsoft.Dynamics.CRM.WinOpportunity" />
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


def test_operations_are_read_with_their_kind_binding_parameters_and_return_type():
    definitions = {definition.name: definition for definition in parse_operation_definitions(CSDL)}
    assert list(definitions) == ["WhoAmI", "RetrieveTotalRecordCount", "WinOpportunity", "QualifyLead",
                                 "ExportTranslation"]
    whoami = definitions["WhoAmI"]
    assert (whoami.kind, whoami.bound_to, whoami.parameters, whoami.returns) == (
        "function", None, (), "mscrm.WhoAmIResponse")
    win = definitions["WinOpportunity"]
    assert win.kind == "action" and win.returns is None and win.bound_to is None
    assert [(p.name, p.type, p.nullable) for p in win.parameters] == [
        ("OpportunityClose", "mscrm.opportunityclose", False), ("Status", "Edm.Int32", False)]
    assert win.required == ["OpportunityClose", "Status"]
    qualify = definitions["QualifyLead"]
    assert (qualify.bound_to, qualify.bound_to_collection) == ("lead", False)
    assert [p.name for p in qualify.parameters] == ["CreateAccount", "OpportunityCustomerId", "Status"]
    assert qualify.parameter("OpportunityCustomerId").nullable is True
    assert qualify.returns == "Collection(mscrm.crmbaseentity)"
    export = definitions["ExportTranslation"]
    assert (export.bound_to, export.bound_to_collection) == ("solution", True)
    assert definitions["RetrieveTotalRecordCount"].parameter("EntityNames").type == "Collection(Edm.String)"


def test_find_operation_matches_names_exactly_and_by_binding():
    definitions = parse_operation_definitions(CSDL)
    assert find_operation(definitions, "QualifyLead").bound_to == "lead"
    assert find_operation(definitions, "QualifyLead", bound_to="lead").name == "QualifyLead"
    with pytest.raises(KeyError):
        find_operation(definitions, "qualifylead")
    with pytest.raises(KeyError):
        find_operation(definitions, "QualifyLead", bound_to="account")


def test_a_definition_names_a_missing_parameter():
    with pytest.raises(KeyError):
        find_operation(parse_operation_definitions(CSDL), "WinOpportunity").parameter("status")


@pytest.mark.parametrize("document", [
    b"<not-closed",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
])
def test_documents_that_are_not_plain_csdl_are_refused(document):
    with pytest.raises(DataverseError):
        parse_operation_definitions(document)


async def test_list_operations_asks_for_the_xml_metadata_document(harness):
    h = harness(httpx.Response(200, content=CSDL, headers={"Content-Type": "application/xml"}))
    definitions = await h.client.list_operations()
    assert [definition.name for definition in definitions][:1] == ["WhoAmI"]
    assert (h.last.method, h.path()) == ("GET", "/api/data/v9.2/$metadata")
    assert h.last.headers["Accept"] == "application/xml"


async def test_list_operations_refuses_an_answer_that_is_not_xml(harness):
    h = harness(httpx.Response(200, json={"value": []}))
    with pytest.raises(DataverseError, match="CSDL"):
        await h.client.list_operations()


async def test_list_operations_is_retried_like_a_read(harness):
    h = harness(httpx.Response(503), httpx.Response(200, content=CSDL, headers={"Content-Type": "application/xml"}))
    assert len(await h.client.list_operations()) == 5
    assert len(h.requests) == 2
