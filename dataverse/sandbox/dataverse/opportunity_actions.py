"""WinOpportunity and LoseOpportunity (unbound actions, no return value: 204), as Dataverse runs them:

`{"Status": 3, "OpportunityClose": {"subject": ..., "opportunityid@odata.bind": "/opportunities(<id>)", ...}}`
creates a completed *opportunityclose* activity (actualrevenue, actualend, description, competitorid for a loss)
and closes the opportunity: statecode 1 Won / 2 Lost, statuscode = Status (-1: the state's default), actualvalue
(on a win the close's actual revenue, else the estimated value), actualclosedate (the close's actual end, else
today). Both writes happen together or not at all; the audit log records the close as 44 Win or 45 Lose.

Errors: the opportunity not visible 404; not writable 403 prvWriteOpportunity; already closed 400 0x80040515; a
Status of another state 400 0x80048408.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dataverse.sandbox.dataverse import writes
from dataverse.sandbox.dataverse.audit import LOSE, WIN
from dataverse.sandbox.dataverse.model import LookupValue, SandboxError, Table
from dataverse.sandbox.dataverse.operations import Operation, OperationCall, OperationResult, Parameter, bad_parameter
from dataverse.sandbox.dataverse.payload import INVALID_STATE_STATUS, values_from_payload
from dataverse.sandbox.dataverse.privileges import entity_schema_name
from dataverse.sandbox.dataverse.security import not_found
from dataverse.sandbox.dataverse.transactions import transaction

OPPORTUNITY_IS_ALREADY_CLOSED = "0x80040515"
CLOSE_PARAMETERS = (
    Parameter("OpportunityClose", "mscrm.opportunityclose", nullable=False),
    Parameter("Status", "Edm.Int32", nullable=False),
)
_STATES = {True: (1, "Won"), False: (2, "Lost")}


def close_status(table: Table, state: int, label: str, status: Any, record_id: str) -> int:
    """The status reason to close with: `status` if it belongs to `state`, the state's default for -1."""
    if isinstance(status, bool) or not isinstance(status, int):
        raise bad_parameter("The parameter 'Status' must be an Edm.Int32 status reason.")
    valid = [option.value for option in table.columns["statuscode"].options if option.state == state]
    if status == -1:
        return valid[0]
    if status not in valid:
        state_name = f"{entity_schema_name(table)}State.{label}"
        raise SandboxError(400, INVALID_STATE_STATUS, f"{status} is not a valid status code for state code "
                                                      f"{state_name} on {table.logical_name} with Id {record_id}.")
    return status


async def _close(call: OperationCall, *, won: bool) -> OperationResult:
    ctx = call.ctx
    dataset, org = ctx.dataset, ctx.org
    close_table, opportunity_table = org.table("opportunityclose"), org.table("opportunity")
    body = call.parameters["OpportunityClose"]
    if not isinstance(body, dict):
        raise bad_parameter("The parameter 'OpportunityClose' must be an opportunityclose entity.")
    values = values_from_payload(dataset, close_table, body, creating=True)
    reference = values.get("opportunityid")
    if not isinstance(reference, LookupValue):
        raise bad_parameter("The OpportunityClose must name its opportunity with 'opportunityid@odata.bind'.")
    opportunity = dataset.get("opportunity", reference.id)
    if opportunity is None:
        raise not_found(opportunity_table, reference.id)
    dataset.require_write(opportunity_table, opportunity)
    if opportunity["statecode"] != 0:
        raise SandboxError(400, OPPORTUNITY_IS_ALREADY_CLOSED, "The opportunity is already closed.")
    state, label = _STATES[won]
    status = close_status(opportunity_table, state, label, call.parameters["Status"], reference.id)
    now = org.now()
    actual_end = values.get("actualend") or now
    revenue = values.get("actualrevenue")
    if revenue is None and won:
        revenue = opportunity.get("estimatedvalue")
    close_date = (actual_end if isinstance(actual_end, datetime) else now).astimezone(
        org.timezone_of(dataset.caller.user_id)).date()
    changes: dict[str, Any] = {"statecode": state, "statuscode": status, "actualclosedate": close_date}
    if revenue is not None:
        changes["actualvalue"] = revenue
    with transaction(org):
        writes.create_row(dataset, close_table, {**values, "actualend": actual_end, "actualrevenue": revenue,
                                                 "statecode": 1, "statuscode": 2})
        writes.update_row(dataset, opportunity_table, opportunity, changes, audit_action=WIN if won else LOSE)
    return None


async def win_opportunity(call: OperationCall) -> OperationResult:
    return await _close(call, won=True)


async def lose_opportunity(call: OperationCall) -> OperationResult:
    return await _close(call, won=False)


OPERATIONS = (
    Operation("WinOpportunity", "Action", win_opportunity, CLOSE_PARAMETERS),
    Operation("LoseOpportunity", "Action", lose_opportunity, CLOSE_PARAMETERS),
)
