"""The tables and columns Microsoft's documented examples use, present and seeded so the documented queries return
rows. Sources: PD = MicrosoftDocs/powerapps-docs `powerapps-docs/developer/data-platform/`."""

from __future__ import annotations

from sandbox_dataverse_support import API, BASE_URL

from dataverse.sandbox.dataverse.model import LookupValue


async def test_accounts_with_an_email_matching_a_lambda_filter(carol, org):
    """PD webapi/query/filter-rows.md, "Lambda operator examples": `Account_Emails/any(e:contains(e/subject,
    'sometext'))`."""
    body = (await carol.get(f"{API}/accounts?$select=name&$filter=Account_Emails/any(e:contains(e/subject,"
                            "'Proposal'))")).json()
    expected = {e["regardingobjectid"].id for e in org.rows["email"].values()
                if e["regardingobjectid"].table == "account" and "Proposal" in e["subject"]}
    assert {row["accountid"] for row in body["value"]} == expected and expected


async def test_emails_are_activities_keyed_by_activityid(carol, org):
    """PD reference/entities/email.md: entity set `emails`, key `activityid`, name `subject`; emails appear in
    activitypointers with activitytypecode 'email'."""
    email = next(iter(org.rows["email"].values()))
    body = (await carol.get(f"{API}/emails({email['activityid']})?$select=subject,directioncode,statuscode",
                            headers={"Prefer": 'odata.include-annotations="*"'})).json()
    assert body["subject"] == email["subject"] and body["activityid"] == email["activityid"]
    assert body["statuscode@OData.Community.Display.V1.FormattedValue"] in ("Sent", "Received")
    pointer = (await carol.get(f"{API}/activitypointers({email['activityid']})?$select=activitytypecode")).json()
    assert pointer["activitytypecode"] == "email"


async def test_security_roles_as_the_basic_operations_sample_creates_them(carol, alice, org):
    """PD webapi/web-api-basic-operations-sample.md, Section 4: `POST roles {"businessunitid@odata.bind":
    "businessunits(<id>)", "name": "Example Security Role"}` answers 204 with `roles(<id>)`; roles are readable."""
    response = await carol.post(f"{API}/roles", json={
        "businessunitid@odata.bind": f"businessunits({org.business_unit_id})", "name": "Example Security Role"})
    assert response.status_code == 204, response.text
    assert response.headers["odata-entityid"].startswith(f"{BASE_URL}/api/data/v9.2/roles(")
    names = {row["name"] for row in (await alice.get(f"{API}/roles?$select=name")).json()["value"]}
    assert {"System Administrator", "Salesperson", "Sales Manager", "Example Security Role"} <= names
    denied = await alice.post(f"{API}/roles", json={
        "businessunitid@odata.bind": f"businessunits({org.business_unit_id})", "name": "Mine"})
    assert denied.status_code == 403


async def test_the_query_sample_filters_on_annual_income(carol, org):
    """PD webapi/web-api-query-data-sample.md, "Use operators": `contains(fullname,'(sample)') and annualincome gt
    55000`; every seeded contact has an annual income."""
    body = (await carol.get(f"{API}/contacts?$select=fullname,annualincome&$filter=annualincome gt 55000"
                            "&$count=true", headers={"Prefer": 'odata.include-annotations="*"'})).json()
    assert body["@odata.count"] == sum(1 for c in org.rows["contact"].values() if c["annualincome"] > 55000) > 0
    assert body["value"][0]["annualincome@OData.Community.Display.V1.FormattedValue"].startswith("$")
    assert all(c["annualincome"] for c in org.rows["contact"].values())


async def test_account_columns_the_documented_examples_read(carol, org):
    """PD webapi/perform-conditional-operations-using-web-api.md selects accountcategorycode, accountnumber,
    creditonhold, createdon, numberofemployees, name, revenue; filter-rows.md filters numberofemployees with
    Between; create-entity-web-api.md writes address1_latitude."""
    account = next(iter(org.rows["account"].values()))
    body = (await carol.get(f"{API}/accounts({account['accountid']})?$select=accountcategorycode,accountnumber,"
                            "creditonhold,createdon,numberofemployees,name,revenue,address1_city,address1_line1,"
                            "address1_latitude", headers={"Prefer": 'odata.include-annotations="*"'})).json()
    assert body["accountcategorycode@OData.Community.Display.V1.FormattedValue"] in ("Preferred Customer", "Standard")
    assert body["address1_line1"] and isinstance(body["address1_latitude"], float)
    between = (await carol.get(f"{API}/accounts?$select=name,numberofemployees&$filter=Microsoft.Dynamics.CRM.Between("
                               "PropertyName='numberofemployees',PropertyValues=[\"5\",\"2000\"])&$count=true")).json()
    assert between["@odata.count"] == sum(1 for a in org.rows["account"].values()
                                          if 5 <= a["numberofemployees"] <= 2000) > 0


async def test_quiet_accounts_stay_quiet_with_emails_seeded(org):
    """The seed's promise (accounts with no activity in the last 30 days) holds with emails among the activities."""
    now = org.now()
    recent = {a["regardingobjectid"].id for a in org.all_rows("activitypointer")
              if isinstance(a["regardingobjectid"], LookupValue) and (now - a["createdon"]).days < 30}
    assert len(set(org.rows["account"]) - recent) >= 5
