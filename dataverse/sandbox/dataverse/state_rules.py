"""What the Create and Update messages (POST and PATCH, alone or inside `$batch`) may not do to a record's state,
table by table (the close actions themselves write through `writes` directly).

- opportunity: Open -> Won or Lost only through WinOpportunity / LoseOpportunity; a PATCH (or upsert) that sets
  statecode 1 or 2 answers 400 with 0x80100005 CannotUseOpportunitySetStateMessage. Won/Lost -> Open by PATCH
  (`{"statecode": 0, "statuscode": 1}`) is allowed, and so Won <-> Lost goes through Open. Creating an opportunity
  already Won or Lost is refused the same way (Create sets a non-default state through SetState).
- lead: Open -> Qualified or Disqualified may be a plain PATCH of statecode + statuscode (QualifyLead is the usual
  way to qualify).
- every table: a statuscode that does not belong to the statecode answers 400 with 0x80048408
  InvalidStateCodeStatusCode (checked where every write goes, `payload.settle_state`).
"""

from __future__ import annotations

from dataverse.sandbox.dataverse.model import Row, SandboxError, Table

CANNOT_USE_OPPORTUNITY_SET_STATE = "0x80100005"
_OPPORTUNITY_CLOSE_MESSAGES = {1: ("Won", "WinOpportunity"), 2: ("Lost", "LoseOpportunity")}


def check_state_change(table: Table, existing: Row | None, values: Row) -> None:
    """Refuse a state change Create/Update cannot make on this table (`existing` is None when creating)."""
    state = values.get("statecode")
    if table.logical_name != "opportunity" or state not in _OPPORTUNITY_CLOSE_MESSAGES:
        return
    if existing is not None and existing.get("statecode") == state:
        return  # no state change
    label, message = _OPPORTUNITY_CLOSE_MESSAGES[state]
    raise SandboxError(400, CANNOT_USE_OPPORTUNITY_SET_STATE,
                       f"This message can not be used to set the state of opportunity to {label}. In order to set "
                       f"state of opportunity to {label}, use the {message} message instead.")
