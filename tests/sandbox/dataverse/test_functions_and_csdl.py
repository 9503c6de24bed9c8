"""Functions over GET (parameters as @p aliases or inline literals, complex-type answers with their @odata.context)
and the CSDL $metadata document, which declares every action and function the sandbox serves, bound or not, with
the parameters and return types it actually takes."""

from __future__ import annotations

from urllib.parse import quote

from defusedxml import ElementTree
from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.operation_catalog import OPERATIONS
from dataverse.sandbox.users import ALICE, BOB

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
CONTEXT = f"{BASE_URL}/api/data/v9.2/$metadata#"


async def test_whoami_answers_with_or_without_parentheses(alice):
    for path in ("WhoAmI", "WhoAmI()"):
        body = (await alice.get(f"{API}/{path}")).json()
        assert body["@odata.context"] == CONTEXT + "Microsoft.Dynamics.CRM.WhoAmIResponse"
        assert body["UserId"] == ALICE.systemuser_id


async def test_a_function_called_with_post_is_404_no_http_resource(alice):
    response = await alice.post(f"{API}/WhoAmI", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == ("No HTTP resource was found that matches the request URI "
                                                   f"'{BASE_URL}/api/data/v9.2/WhoAmI'.")


async def test_retrieve_total_record_count_with_an_alias(alice, org):
    alias = quote('["account","contact"]', safe="")
    response = await alice.get(f"{API}/RetrieveTotalRecordCount(EntityNames=@p1)?@p1={alias}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == CONTEXT + "Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse"
    assert body["EntityRecordCountCollection"] == {
        "Count": 2, "IsReadOnly": False, "Keys": ["account", "contact"],
        "Values": [len(org.rows["account"]), len(org.rows["contact"])]}


async def test_retrieve_total_record_count_with_an_inline_single_quoted_array(alice, org):
    response = await alice.get(f"{API}/RetrieveTotalRecordCount(EntityNames=['lead'])")
    assert response.json()["EntityRecordCountCollection"]["Values"] == [len(org.rows["lead"])]


async def test_an_unknown_table_in_record_count_is_404(alice):
    response = await alice.get(f"{API}/RetrieveTotalRecordCount(EntityNames=@p1)?@p1=" + quote('["nosuch"]'))
    assert response.status_code == 404


async def test_a_missing_alias_value_is_400(alice):
    response = await alice.get(f"{API}/RetrieveTotalRecordCount(EntityNames=@p1)")
    assert response.status_code == 400


async def test_retrieve_version(alice):
    body = (await alice.get(f"{API}/RetrieveVersion()")).json()
    assert body["@odata.context"] == CONTEXT + "Microsoft.Dynamics.CRM.RetrieveVersionResponse"
    assert body["Version"].startswith("9.2.")


async def test_metadata_is_a_csdl_document_declaring_every_served_operation(alice):
    response = await alice.get(f"{API}/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    schema = root.find(f"./{{http://docs.oasis-open.org/odata/ns/edmx}}DataServices/{EDM}Schema")
    assert schema.get("Namespace") == "Microsoft.Dynamics.CRM" and schema.get("Alias") == "mscrm"
    declared = {element.get("Name"): element for element in schema
                if element.tag in (f"{EDM}Action", f"{EDM}Function")}
    assert set(declared) == set(OPERATIONS) >= {"WhoAmI", "WinOpportunity", "LoseOpportunity", "QualifyLead",
                                                 "RetrieveVersion", "RetrieveTotalRecordCount"}
    assert declared["WhoAmI"].tag == f"{EDM}Function" and declared["WinOpportunity"].tag == f"{EDM}Action"
    win = [(p.get("Name"), p.get("Type"), p.get("Nullable"))
           for p in declared["WinOpportunity"].iter(f"{EDM}Parameter")]
    assert win == [("OpportunityClose", "mscrm.opportunityclose", "false"), ("Status", "Edm.Int32", "false")]
    qualify = declared["QualifyLead"]
    assert qualify.get("IsBound") == "true"
    parameters = [(p.get("Name"), p.get("Type")) for p in qualify.iter(f"{EDM}Parameter")]
    assert parameters[0] == ("entity", "mscrm.lead")
    assert ("OpportunityCustomerId", "mscrm.crmbaseentity") in parameters
    assert qualify.find(f"{EDM}ReturnType").get("Type") == "Collection(mscrm.crmbaseentity)"
    assert declared["WhoAmI"].find(f"{EDM}ReturnType").get("Type") == "mscrm.WhoAmIResponse"


async def test_metadata_names_the_entity_types_sets_and_navigation_properties(alice, org):
    root = ElementTree.fromstring((await alice.get(f"{API}/$metadata")).content)
    entity_types = {element.get("Name"): element for element in root.iter(f"{EDM}EntityType")}
    assert set(org.tables) <= set(entity_types)
    navigation = {element.get("Name"): element.get("Type")
                  for element in entity_types["opportunity"].iter(f"{EDM}NavigationProperty")}
    assert navigation["opportunitycompetitors_association"] == "Collection(mscrm.competitor)"
    assert navigation["customerid_account"] == "mscrm.account"
    sets = {element.get("Name") for element in root.iter(f"{EDM}EntitySet")}
    assert {"accounts", "opportunitycloses", "competitors", "lists"} <= sets
    imports = {element.get("Name") for element in root.iter(f"{EDM}ActionImport")}
    assert imports == {"WinOpportunity", "LoseOpportunity"}  # bound QualifyLead has no import


async def test_the_audit_functions_are_served_and_declared_from_the_catalog(alice, client_as, org):
    """RetrieveRecordChangeHistory, RetrieveAttributeChangeHistory (unbound) and RetrieveAuditDetails (bound to an
    audit record) are functions of the catalog like WhoAmI: declared in $metadata, 404 to any verb but GET."""
    root = ElementTree.fromstring((await alice.get(f"{API}/$metadata")).content)
    schema = root.find(f"./{{http://docs.oasis-open.org/odata/ns/edmx}}DataServices/{EDM}Schema")
    functions = {element.get("Name"): element for element in schema.iter(f"{EDM}Function")}
    history = functions["RetrieveRecordChangeHistory"]
    assert [(p.get("Name"), p.get("Type"), p.get("Nullable")) for p in history.iter(f"{EDM}Parameter")] == [
        ("Target", "mscrm.crmbaseentity", "false"), ("PagingInfo", "mscrm.PagingInfo", None)]
    assert history.find(f"{EDM}ReturnType").get("Type") == "mscrm.RetrieveRecordChangeHistoryResponse"
    assert "AttributeLogicalName" in {p.get("Name") for p in
                                      functions["RetrieveAttributeChangeHistory"].iter(f"{EDM}Parameter")}
    details = functions["RetrieveAuditDetails"]
    assert details.get("IsBound") == "true"
    assert next(details.iter(f"{EDM}Parameter")).get("Type") == "mscrm.audit"
    complex_types = {element.get("Name") for element in schema.iter(f"{EDM}ComplexType")}
    assert {"PagingInfo", "AuditDetailCollection", "RetrieveRecordChangeHistoryResponse"} <= complex_types
    imports = {element.get("Name") for element in schema.iter(f"{EDM}FunctionImport")}
    assert {"WhoAmI", "RetrieveRecordChangeHistory", "RetrieveAttributeChangeHistory"} <= imports
    assert "RetrieveAuditDetails" not in imports
    for verb in ("post", "patch", "delete"):
        response = await getattr(alice, verb)(f"{API}/RetrieveAttributeChangeHistory(Target=@t)")
        assert response.status_code == 404
        assert response.json()["error"]["message"].startswith("No HTTP resource was found")
    audit_id = next(iter(org.rows["audit"]))
    bound = f"{API}/audits({audit_id})/Microsoft.Dynamics.CRM.RetrieveAuditDetails"
    assert (await alice.get(bound)).json()["@odata.context"] == CONTEXT + (
        "Microsoft.Dynamics.CRM.RetrieveAuditDetailsResponse")
    refused = await client_as(BOB).get(bound)  # bob lacks prvReadAuditSummary: 403, as reading the log is
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "0x80040220")
    assert (await alice.post(bound, json={})).status_code == 404
