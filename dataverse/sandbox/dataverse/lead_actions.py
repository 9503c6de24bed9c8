"""QualifyLead, bound to a lead: `POST leads(<id>)/Microsoft.Dynamics.CRM.QualifyLead` with CreateAccount,
CreateContact, CreateOpportunity and Status (required), OpportunityCustomerId (an account or contact reference with
`@odata.type`) and the optional currency, campaign, process and duplicate-detection parameters.

It creates what was asked for, owned by the caller, from the lead's columns: the account (name = companyname; none
when the lead has no company name), the contact (first/last name, email, phone, job title; its company is the new
account, which gets it as primary contact), the opportunity (name = the lead's topic; customer =
OpportunityCustomerId, else the new account, else the new contact). Each points back to the lead through
`originatingleadid`; the lead gets parentaccountid, parentcontactid, qualifyingopportunityid and is set to Qualified
(statecode 1, statuscode = Status), which the audit log records as 24 Qualify. All of it happens together or not at
all. The answer is 200 with
`Collection(Microsoft.Dynamics.CRM.crmbaseentity)`: one `{"@odata.type", "<id column>"}` item per created record.

Errors: the lead not visible 404; not writable 403 prvWriteLead; already qualified or disqualified 400 0x80040519
"The lead is already closed."; a Status that is not a Qualified status 400 0x80048408.
"""

from __future__ import annotations

from typing import Any

from dataverse.sandbox.dataverse import writes
from dataverse.sandbox.dataverse.audit import QUALIFY
from dataverse.sandbox.dataverse.model import LookupValue, Row, SandboxError
from dataverse.sandbox.dataverse.operations import (
    NAMESPACE,
    EntitiesResult,
    Operation,
    OperationCall,
    OperationResult,
    Parameter,
    bad_parameter,
    entity_reference,
)
from dataverse.sandbox.dataverse.opportunity_actions import close_status
from dataverse.sandbox.dataverse.security import not_found
from dataverse.sandbox.dataverse.transactions import transaction

LEAD_ALREADY_CLOSED = "0x80040519"
QUALIFY_LEAD_PARAMETERS = (
    Parameter("CreateAccount", "Edm.Boolean", nullable=False),
    Parameter("CreateContact", "Edm.Boolean", nullable=False),
    Parameter("CreateOpportunity", "Edm.Boolean", nullable=False),
    Parameter("OpportunityCurrencyId", "mscrm.transactioncurrency"),
    Parameter("OpportunityCustomerId", "mscrm.crmbaseentity"),
    Parameter("SourceCampaignId", "mscrm.campaign"),
    Parameter("Status", "Edm.Int32", nullable=False),
    Parameter("SuppressDuplicateDetection", "Edm.Boolean"),
    Parameter("ProcessInstanceId", "mscrm.crmbaseentity"),
)
_ACCOUNT_FROM_LEAD = {"companyname": "name", "telephone1": "telephone1", "emailaddress1": "emailaddress1",
                      "industrycode": "industrycode", "revenue": "revenue"}
_CONTACT_FROM_LEAD = ("firstname", "lastname", "emailaddress1", "telephone1", "jobtitle")


def _flag(parameters: dict[str, Any], name: str) -> bool:
    value = parameters[name]
    if not isinstance(value, bool):
        raise bad_parameter(f"The parameter '{name}' must be an Edm.Boolean.")
    return value


def _customer(call: OperationCall) -> LookupValue | None:
    value = call.parameters["OpportunityCustomerId"]
    if value is None:
        return None
    table, record_id = entity_reference(call.ctx, "OpportunityCustomerId", value)
    if table.logical_name not in ("account", "contact"):
        raise bad_parameter("OpportunityCustomerId must be an account or a contact.")
    if call.ctx.dataset.get(table.logical_name, record_id) is None:
        raise not_found(table, record_id)
    return LookupValue(table.logical_name, record_id)


def _created(row: Row, logical_name: str, primary_id: str) -> dict[str, Any]:
    return {"@odata.type": f"#{NAMESPACE}.{logical_name}", primary_id: row[primary_id]}


async def qualify_lead(call: OperationCall) -> OperationResult:
    ctx, lead = call.ctx, call.row
    dataset, org = ctx.dataset, ctx.org
    assert lead is not None  # a bound operation always has its record
    lead_table = org.table("lead")
    lead_id = str(lead["leadid"])
    create_account, create_contact, create_opportunity = (
        _flag(call.parameters, name) for name in ("CreateAccount", "CreateContact", "CreateOpportunity"))
    customer = _customer(call)
    dataset.require_write(lead_table, lead)
    if lead["statecode"] != 0:
        raise SandboxError(400, LEAD_ALREADY_CLOSED, "The lead is already closed.")
    status = close_status(lead_table, 1, "Qualified", call.parameters["Status"], lead_id)
    origin = LookupValue("lead", lead_id)
    created: list[dict[str, Any]] = []
    account = contact = opportunity = None
    with transaction(org):
        if create_account and lead.get("companyname"):
            values = {target: lead.get(source) for source, target in _ACCOUNT_FROM_LEAD.items()}
            account = writes.create_row(dataset, org.table("account"), {**values, "originatingleadid": origin})
            created.append(_created(account, "account", "accountid"))
        if create_contact:
            values = {name: lead.get(name) for name in _CONTACT_FROM_LEAD}
            company = LookupValue("account", account["accountid"]) if account else None
            contact = writes.create_row(dataset, org.table("contact"),
                                        {**values, "parentcustomerid": company, "originatingleadid": origin})
            created.append(_created(contact, "contact", "contactid"))
            if account is not None:
                account = writes.update_row(dataset, org.table("account"), account,
                                            {"primarycontactid": LookupValue("contact", contact["contactid"])})
        if create_opportunity:
            customer = customer or (LookupValue("account", account["accountid"]) if account else None) or (
                LookupValue("contact", contact["contactid"]) if contact else None)
            opportunity = writes.create_row(dataset, org.table("opportunity"), {
                "name": lead.get("subject"), "customerid": customer, "originatingleadid": origin,
                "parentaccountid": LookupValue("account", account["accountid"]) if account else None,
                "parentcontactid": LookupValue("contact", contact["contactid"]) if contact else None,
            })
            created.append(_created(opportunity, "opportunity", "opportunityid"))
        changes: dict[str, Any] = {"statecode": 1, "statuscode": status}
        if account is not None:
            changes["parentaccountid"] = LookupValue("account", account["accountid"])
        if contact is not None:
            changes["parentcontactid"] = LookupValue("contact", contact["contactid"])
        if opportunity is not None:
            changes["qualifyingopportunityid"] = LookupValue("opportunity", opportunity["opportunityid"])
        writes.update_row(dataset, lead_table, lead, changes, audit_action=QUALIFY)
    return EntitiesResult("crmbaseentity", created)


OPERATIONS = (
    Operation("QualifyLead", "Action", qualify_lead, QUALIFY_LEAD_PARAMETERS,
              returns="Collection(mscrm.crmbaseentity)", bound_to="lead"),
)
