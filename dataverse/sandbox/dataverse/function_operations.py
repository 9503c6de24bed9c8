"""The unbound functions the sandbox serves (GET, no side effects, a complex-type answer):

- `WhoAmI` (or `WhoAmI()`) -> WhoAmIResponse {BusinessUnitId, UserId, OrganizationId}
- `RetrieveVersion()` -> RetrieveVersionResponse {Version}
- `RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account","contact"]` -> RetrieveTotalRecordCountResponse
  {EntityRecordCountCollection: {Count, IsReadOnly, Keys, Values}}; an unknown table is 404 as in the metadata API.
"""

from __future__ import annotations

from dataverse.sandbox.dataverse.model import SandboxError
from dataverse.sandbox.dataverse.operations import (
    ComplexResult,
    Operation,
    OperationCall,
    OperationResult,
    Parameter,
    bad_parameter,
)

SANDBOX_VERSION = "9.2.25031.00171"


async def who_am_i(call: OperationCall) -> OperationResult:
    ctx = call.ctx
    user = ctx.org.get_row("systemuser", ctx.dataset.caller.user_id) or {}
    business_unit = user.get("businessunitid")
    return ComplexResult("WhoAmIResponse", {
        "BusinessUnitId": business_unit.id if business_unit is not None else ctx.org.business_unit_id,
        "UserId": ctx.dataset.caller.user_id,
        "OrganizationId": ctx.org.organization_id,
    })


async def retrieve_version(call: OperationCall) -> OperationResult:
    return ComplexResult("RetrieveVersionResponse", {"Version": SANDBOX_VERSION})


async def retrieve_total_record_count(call: OperationCall) -> OperationResult:
    names = call.parameters["EntityNames"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise bad_parameter("The parameter 'EntityNames' must be a collection of table logical names.")
    counts = []
    for name in names:
        if name not in call.ctx.org.tables:
            raise SandboxError(404, "0x80040217", f"The entity with a name = '{name}' with namemapping = 'Logical' "
                                                  "was not found in the MetadataCache.")
        counts.append(len(call.ctx.org.all_rows(name)))
    return ComplexResult("RetrieveTotalRecordCountResponse", {
        "EntityRecordCountCollection": {"Count": len(names), "IsReadOnly": False, "Keys": list(names),
                                        "Values": counts}})


OPERATIONS = (
    Operation("WhoAmI", "Function", who_am_i, returns="mscrm.WhoAmIResponse", complex_types={
        "WhoAmIResponse": (Parameter("BusinessUnitId", "Edm.Guid", nullable=False),
                           Parameter("UserId", "Edm.Guid", nullable=False),
                           Parameter("OrganizationId", "Edm.Guid", nullable=False))}),
    Operation("RetrieveVersion", "Function", retrieve_version, returns="mscrm.RetrieveVersionResponse",
              complex_types={"RetrieveVersionResponse": (Parameter("Version", "Edm.String"),)}),
    Operation("RetrieveTotalRecordCount", "Function", retrieve_total_record_count,
              (Parameter("EntityNames", "Collection(Edm.String)", nullable=False),),
              returns="mscrm.RetrieveTotalRecordCountResponse", complex_types={
                  "RetrieveTotalRecordCountResponse": (
                      Parameter("EntityRecordCountCollection", "mscrm.EntityRecordCountCollection"),),
                  "EntityRecordCountCollection": (
                      Parameter("Count", "Edm.Int32", nullable=False),
                      Parameter("IsReadOnly", "Edm.Boolean", nullable=False),
                      Parameter("Keys", "Collection(Edm.String)"),
                      Parameter("Values", "Collection(Edm.Int64)")),
              }),
)
