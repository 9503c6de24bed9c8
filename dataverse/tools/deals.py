"""Closing deals: `close_opportunity` (won or lost, through Dataverse's WinOpportunity and LoseOpportunity, which record
the opportunityclose activity with the actual revenue, close date, competitor and description) and
`reopen_opportunity` (a Won or Lost opportunity back to Open, the one state change a plain update may make).

Dataverse refuses to close an opportunity by update; these are the way. Each answers with the opportunity as it is
afterwards, read back as the user, and its link."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from typing import Annotated, Any, Literal

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import (
    DataverseRefusedError,
    InvalidArgumentError,
    dataverse_errors,
    record_id_argument,
)
from dataverse.tools.kit.params import RecordId
from dataverse.tools.kit.registry import WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table, get_whoami
from dataverse.tools.schema.policy import require_table_allowed
from dataverse.tools.schema.selection import columns_by_name
from dataverse.tools.values.convert import match_choice
from dataverse.tools.values.links import record_url
from dataverse.tools.values.lookups import LookupResolver
from dataverse.tools.values.shaping import shape_row
from dataverse.tools.values.timezones import get_user_zone

OPEN, WON, LOST = 0, 1, 2
DEFAULT_STATUS = -1  # Dataverse picks the state's default status reason
READ_BACK = ["name", "statecode", "statuscode", "actualvalue", "actualclosedate", "estimatedvalue"]

group: ToolGroup[None] = ToolGroup("deals")


class DealResult(ResultModel):
    id: str
    name: str | None = None
    outcome: str
    opportunity: dict[str, Any]
    url: str


@group.tool(title="Close an opportunity", annotations=WRITE, requires="write", description=(
    "Close an open opportunity as won or lost (WinOpportunity/LoseOpportunity), with actual revenue, close date, "
    "status reason, competitor and description."))
async def close_opportunity(
    call: ToolCall,
    id: RecordId,
    outcome: Literal["won", "lost"],
    actual_revenue: Annotated[float | None, Field(description="Default: the estimated revenue if won.")] = None,
    close_date: Annotated[str | None, Field(description="Default today.")] = None,
    status_reason: Annotated[str | None, Field(description="By label.")] = None,
    competitor: Annotated[str | None, Field(description="Lost to, by name or id.")] = None,
    description: str | None = None,
) -> DealResult:
    for table in ("opportunity", "opportunityclose"):
        require_table_allowed(call.settings, table)
    record_id = record_id_argument(id)
    metadata = await describe_named_table(call, "opportunity")
    columns = columns_by_name(metadata)
    entity_set = metadata.table.entity_set
    with dataverse_errors(table="opportunity", record_id=record_id):
        current = await call.client.retrieve(entity_set, record_id, select=READ_BACK)
    name = current.get("name")
    if current.get("statecode") != OPEN:
        state = current.get("statecode@OData.Community.Display.V1.FormattedValue") or current.get("statecode")
        raise InvalidArgumentError(f"{name!r} is already closed ({state}); reopen_opportunity first if it should be "
                                   "closed again. Nothing was changed.")
    won = outcome == "won"
    status = DEFAULT_STATUS
    if status_reason:
        option = match_choice(columns["statuscode"], status_reason, where="opportunity.statuscode")
        if option.state != (WON if won else LOST):
            raise InvalidArgumentError(f"{option.label!r} is not a {'Won' if won else 'Lost'} status reason of an "
                                       "opportunity. Nothing was changed.")
        status = option.value
    close: dict[str, Any] = {
        "subject": f"{'Won' if won else 'Lost'}: {name}"[:200],
        "opportunityid@odata.bind": f"/{entity_set}({record_id})",
        "actualend": await _close_instant(call, close_date),
    }
    revenue = actual_revenue if actual_revenue is not None else (current.get("estimatedvalue") if won else None)
    if revenue is not None:
        close["actualrevenue"] = revenue
    if description:
        close["description"] = description
    if competitor:
        require_table_allowed(call.settings, "competitor")
        close["competitorid@odata.bind"] = await _competitor(call, competitor)
    action = "WinOpportunity" if won else "LoseOpportunity"
    with dataverse_errors(operation="update", table="opportunity", record_id=record_id):
        await call.client.invoke_action(action, {"Status": status, "OpportunityClose": close})
    return await _result(call, record_id, outcome)


@group.tool(title="Reopen an opportunity", annotations=WRITE.but(idempotent=True), requires="write",
            description="Reopen a won or lost opportunity (back to Open, In Progress).")
async def reopen_opportunity(call: ToolCall, id: RecordId) -> DealResult:
    require_table_allowed(call.settings, "opportunity")
    record_id = record_id_argument(id)
    entity_set = (await describe_named_table(call, "opportunity")).table.entity_set
    with dataverse_errors(table="opportunity", record_id=record_id):
        current = await call.client.retrieve(entity_set, record_id, select=["name", "statecode"])
    if current.get("statecode") == OPEN:
        raise InvalidArgumentError(f"{current.get('name')!r} is already open. Nothing was changed.")
    with dataverse_errors(operation="update", table="opportunity", record_id=record_id):
        await call.client.update(entity_set, record_id, {"statecode": OPEN, "statuscode": 1})
    return await _result(call, record_id, "reopened")


async def _competitor(call: ToolCall, competitor: str) -> str:
    """The competitor's bind path, from its id or its name (as the user sees competitors)."""
    metadata = await describe_named_table(call, "opportunityclose")
    column = columns_by_name(metadata).get("competitorid")
    if column is None:
        raise DataverseRefusedError("This environment's opportunity close has no competitor column.")

    async def user_id() -> str:
        return (await get_whoami(call)).user_id

    binding = await LookupResolver(call, metadata, get_user_id=user_id).resolve(column, competitor)
    return f"/{binding.entity_set}({binding.target.id})" if binding.target else ""


async def _result(call: ToolCall, record_id: str, outcome: str) -> DealResult:
    metadata = await describe_named_table(call, "opportunity")
    with dataverse_errors(table="opportunity", record_id=record_id):
        row = await call.client.retrieve(metadata.table.entity_set, record_id, select=READ_BACK)
    shaped = shape_row(row, columns_by_name(metadata))
    return DealResult(id=record_id, name=shaped.get("name"), outcome=outcome, opportunity=shaped,
                      url=record_url(call, "opportunity", record_id))


async def _close_instant(call: ToolCall, text: str | None) -> str:
    """The close date as an instant: noon of that day in the user's time zone, so the date-only actual close date
    Dataverse derives from it is the day the user meant (midnight UTC would be the day before in the Americas)."""
    zone: tzinfo
    try:
        zone = get_user_zone((await get_whoami(call)).time_zone_code)
    except InvalidArgumentError:
        zone = UTC
    if not text:
        day = datetime.now(zone).date()
    else:
        try:
            day = date.fromisoformat(text.strip()[:10])
        except ValueError:
            raise InvalidArgumentError(f"`close_date` must be a date like 2026-03-31, not {text!r}.") from None
    noon = datetime.combine(day, time(12), zone)
    return noon.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

