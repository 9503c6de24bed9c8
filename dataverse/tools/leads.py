"""Working leads: `qualify_lead` (Dataverse's QualifyLead: creates the account, contact and/or opportunity asked for,
linked back to the lead, and marks the lead qualified; the opportunity's customer may be an existing account or
contact, named) and `disqualify_lead` (the lead closed as disqualified, with a reason)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import RecordId
from dataverse.tools.kit.registry import WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table, get_whoami, list_tables
from dataverse.tools.schema.policy import require_table_allowed
from dataverse.tools.schema.selection import columns_by_name
from dataverse.tools.values.convert import match_choice
from dataverse.tools.values.links import record_url
from dataverse.tools.values.lookups import LookupResolver
from dataverse.webapi.actions import EntityReference

QUALIFIED_STATUS = 3
DISQUALIFIED = 2
CREATED_TABLES = ("account", "contact", "opportunity")

group: ToolGroup[None] = ToolGroup("leads")


class CreatedRecord(ResultModel):
    table: str
    id: str
    url: str


class LeadResult(ResultModel):
    id: str
    name: str | None = None
    status: str
    created: list[CreatedRecord] | None = None
    url: str


@group.tool(title="Qualify a lead", annotations=WRITE, requires="write", description=(
    "Qualify a lead (QualifyLead): create an account, a contact and/or an opportunity from it, linked back to the "
    "lead, and mark the lead qualified."))
async def qualify_lead(
    call: ToolCall, id: RecordId,
    create_account: bool = True,
    create_contact: bool = True,
    create_opportunity: bool = True,
    customer: Annotated[str | None, Field(description="An existing account or contact for the opportunity.")] = None,
) -> LeadResult:
    for table in ("lead", *(name for name, wanted in zip(CREATED_TABLES, (create_account, create_contact,
                                                                          create_opportunity), strict=True) if wanted)):
        require_table_allowed(call.settings, table)
    record_id = record_id_argument(id)
    lead = await _lead(call, record_id)
    parameters: dict[str, Any] = {"CreateAccount": create_account, "CreateContact": create_contact,
                                  "CreateOpportunity": create_opportunity, "Status": QUALIFIED_STATUS}
    if customer:
        if not create_opportunity:
            raise InvalidArgumentError("`customer` is the new opportunity's customer: pass create_opportunity=true "
                                       "too, or leave customer out.")
        parameters["OpportunityCustomerId"] = await _customer(call, customer)
    with dataverse_errors(operation="update", table="lead", record_id=record_id):
        created = await call.client.invoke_action("QualifyLead", parameters, entity_set=lead["set"],
                                                  record_id=record_id)
    tables = {t.logical_name: t for t in await list_tables(call)}
    records = []
    for row in created if isinstance(created, list) else []:
        table = str(row.get("@odata.type", "")).rsplit(".", 1)[-1]
        summary = tables.get(table)
        if summary is not None and row.get(summary.primary_id):
            record = str(row[summary.primary_id])
            records.append(CreatedRecord(table=table, id=record, url=record_url(call, table, record)))
    return LeadResult(id=record_id, name=lead["name"], status="qualified", created=records or None,
                      url=record_url(call, "lead", record_id))


@group.tool(title="Disqualify a lead", annotations=WRITE.but(idempotent=True), requires="write", description=(
    "Close a lead as disqualified, with a reason (a Disqualified status reason by label, e.g. 'No Longer "
    "Interested')."))
async def disqualify_lead(
    call: ToolCall, id: RecordId,
    reason: Annotated[str | None, Field(description="Status reason label; default Lost.")] = None,
) -> LeadResult:
    require_table_allowed(call.settings, "lead")
    record_id = record_id_argument(id)
    lead = await _lead(call, record_id)
    metadata = await describe_named_table(call, "lead")
    reasons = [o for o in columns_by_name(metadata)["statuscode"].options or [] if o.state == DISQUALIFIED]
    if not reasons:
        raise InvalidArgumentError("This environment's leads have no Disqualified status reason.")
    status = reasons[0]
    if reason:
        status = match_choice(columns_by_name(metadata)["statuscode"], reason, where="lead.statuscode")
        if status.state != DISQUALIFIED:
            listed = ", ".join(o.label for o in reasons)
            raise InvalidArgumentError(f"{status.label!r} is not a reason to disqualify a lead; use one of: "
                                       f"{listed}. Nothing was changed.")
    with dataverse_errors(operation="update", table="lead", record_id=record_id):
        await call.client.update(lead["set"], record_id, {"statecode": DISQUALIFIED, "statuscode": status.value})
    return LeadResult(id=record_id, name=lead["name"], status=f"disqualified: {status.label}",
                      url=record_url(call, "lead", record_id))


async def _lead(call: ToolCall, record_id: str) -> dict[str, Any]:
    metadata = await describe_named_table(call, "lead")
    summary = metadata.table
    with dataverse_errors(table="lead", record_id=record_id):
        row = await call.client.retrieve(summary.entity_set, record_id, select=[summary.primary_name or "fullname",
                                                                                "statecode"])
    if row.get("statecode") not in (0, None):
        state = row.get("statecode@OData.Community.Display.V1.FormattedValue") or row.get("statecode")
        raise InvalidArgumentError(f"This lead is already closed ({state}). Nothing was changed.")
    return {"set": summary.entity_set, "name": row.get(summary.primary_name or "fullname")}


async def _customer(call: ToolCall, customer: str) -> EntityReference:
    """An existing account or contact, by name or id, as QualifyLead's OpportunityCustomerId."""
    metadata = await describe_named_table(call, "opportunity")
    column = columns_by_name(metadata)["customerid"]

    async def user_id() -> str:
        return (await get_whoami(call)).user_id

    binding = await LookupResolver(call, metadata, get_user_id=user_id).resolve(column, customer)
    if binding.target is None:
        raise InvalidArgumentError("Name the opportunity's customer: an account or a contact.")
    require_table_allowed(call.settings, binding.target.table)
    return EntityReference(binding.target.table, binding.target.id)
