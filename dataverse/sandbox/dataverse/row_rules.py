"""What Dataverse computes when a row is stored, applied by `SandboxOrganization.put_row` to every write:

- activities: `activitytypecode` (the activity's logical name) and `sortdate`, the date the timeline sorts by, unless
  the write sets it: when a closed activity ended (actualend, else when it was last modified), otherwise when it is
  due (scheduledend, else scheduledstart, else when it was created);
- notes (annotation): `objecttypecode` from the note's `objectid`, `isdocument` when a file is attached, `filesize`;
- activity parties: `partyidname`, the party's name;
- a new opportunity starts in the first stage of the sales process: with neither `salesstage` nor `stepname` given it
  is 0 Qualify / "1-Qualify"; with only one of them given, the other follows from it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from dataverse.sandbox.dataverse.model import LookupValue, Row, Table

# The sales process's stages as opportunity.stepname shows them, indexed by opportunity.salesstage.
STEP_NAMES = ("1-Qualify", "2-Develop", "3-Propose", "4-Close")
CLOSED_STATES = frozenset({1, 2})

NameOf = Callable[[LookupValue], str | None]


def apply_row_rules(table: Table, old: Row | None, row: Row, *, name_of: NameOf) -> None:
    """Fill the computed columns of `row` (about to be stored over `old`, None when it is new)."""
    if table.is_activity:
        row["activitytypecode"] = table.logical_name
        if _unchanged(old, row, "sortdate"):
            row["sortdate"] = _sort_date(row)
    elif table.logical_name == "annotation":
        _note(row)
    elif table.logical_name == "activityparty":
        party = row.get("partyid")
        row["partyidname"] = name_of(party) if isinstance(party, LookupValue) else None
    elif table.logical_name == "opportunity" and old is None:
        _first_stage(row)


def _unchanged(old: Row | None, row: Row, name: str) -> bool:
    """Whether the write leaves `name` as it was (so the platform may compute it)."""
    return row.get(name) is None if old is None else row.get(name) == old.get(name)


def _sort_date(row: Row) -> datetime | None:
    candidates: tuple[Any, ...]
    if row.get("statecode") in CLOSED_STATES:
        candidates = (row.get("actualend"), row.get("modifiedon"), row.get("createdon"))
    else:
        candidates = (row.get("scheduledend"), row.get("scheduledstart"), row.get("createdon"))
    return next((value for value in candidates if isinstance(value, datetime)), None)


def _note(row: Row) -> None:
    target = row.get("objectid")
    if isinstance(target, LookupValue):
        row["objecttypecode"] = target.table
    body = row.get("documentbody")
    if body:
        row["isdocument"] = True
        row["filesize"] = len(str(body)) * 3 // 4 - str(body).count("=")
    else:
        row["isdocument"] = bool(row.get("isdocument"))
        row["filesize"] = None if not row.get("filename") else row.get("filesize")


def _first_stage(row: Row) -> None:
    stage, step = row.get("salesstage"), row.get("stepname")
    if stage is None and step is None:
        row["salesstage"], row["stepname"] = 0, STEP_NAMES[0]
    elif step is None and isinstance(stage, int) and 0 <= stage < len(STEP_NAMES):
        row["stepname"] = STEP_NAMES[stage]
    elif stage is None and step in STEP_NAMES:
        row["salesstage"] = STEP_NAMES.index(step)
