"""What has happened with a record: `get_timeline`, the activities (tasks, phone calls, appointments, emails) and
notes regarding it, newest first, as the signed-in user may see them.

Activities come from `activitypointers` (every activity's twin) ordered by `sortdate` (when it ended or is due), notes
from `annotations` by `createdon`; the two are merged by time and paged together. The cursor keeps the instant the
page ended at and the items already shown at that instant, so no item is shown twice or skipped. For an account,
`related` adds the activities and notes of its contacts and opportunities, as people mean "what's happened with
Contoso"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from dataverse.tools.apps.widgets import TIMELINE_URI
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import Cursor, RecordId, TableName
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import list_tables, resolve_table
from dataverse.tools.values.links import record_url
from dataverse.tools.values.shaping import FORMATTED
from dataverse.webapi.models import TableSummary

Kind = Literal["task", "phonecall", "appointment", "email", "note"]
ACTIVITY_KINDS = ("task", "phonecall", "appointment", "email")
DEFAULT_PAGE = 25
MAX_PAGE = 100
MAX_RELATED = 50  # contacts and opportunities of an account whose items `related` adds
BODY_CHARS = 280
TOOL = "get_timeline"

group: ToolGroup[None] = ToolGroup("timeline")


class Party(ResultModel):
    id: str
    name: str | None = None


class Choice(ResultModel):
    value: int
    label: str | None = None


class TimelineItem(ResultModel):
    kind: str
    id: str
    subject: str | None = None
    when: str
    who: Party | None = None
    status: Choice | None = None
    body: str | None = None
    regarding: dict[str, Any] | None = None
    url: str


class TimelineResult(ResultModel):
    table: str
    id: str
    name: str | None = None
    items: list[TimelineItem]
    more: bool
    cursor: str | None = None


@group.tool(title="Get a record's timeline", annotations=READ_ONLY, alone=("cursor",), widget=TIMELINE_URI,
            description=(
                "Activities and notes regarding a record, newest first: who, when, subject, status, a short body, "
                "and a link."))
async def get_timeline(
    call: ToolCall,
    table: TableName | None = None,
    id: RecordId | None = None,
    kinds: Annotated[list[Kind] | None, Field(description="Only these kinds.")] = None,
    since: Annotated[str | None, Field(description="From this date or date-time (ISO 8601).")] = None,
    until: Annotated[str | None, Field(description="Up to this date or date-time (ISO 8601).")] = None,
    related: Annotated[bool, Field(description="For an account, its contacts' and opportunities' items "
                                               "too.")] = False,
    top: Annotated[int, Field(ge=1, le=MAX_PAGE, description="Items per page.")] = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> TimelineResult:
    if cursor:
        state = call.resume(cursor, TOOL)
    else:
        if not table or not id:
            raise InvalidArgumentError("Pass `table` and `id` (the record whose timeline you want), or a `cursor`.")
        state = await _first_page_state(call, table, record_id_argument(id), kinds, since, until, related, top)
    return await _page(call, state)


async def _first_page_state(call: ToolCall, table: str, record_id: str, kinds: list[Kind] | None, since: str | None,
                            until: str | None, related: bool, top: int) -> dict[str, Any]:
    summary = await resolve_table(call, table)
    with dataverse_errors(table=summary.logical_name, record_id=record_id):
        row = await call.client.retrieve(summary.entity_set, record_id, select=[summary.primary_name
                                                                                or summary.primary_id])
    regarding = [record_id]
    if related and summary.logical_name == "account":
        regarding += await _related_ids(call, record_id)
    return {
        "table": summary.logical_name, "id": record_id, "name": row.get(summary.primary_name or ""),
        "regarding": regarding, "kinds": sorted(set(kinds)) if kinds else None,
        "since": _instant(since, "since", end_of_day=False), "until": _instant(until, "until", end_of_day=True),
        "top": top, "before": None, "seen": [],
    }


async def _related_ids(call: ToolCall, account_id: str) -> list[str]:
    """The ids of an account's contacts and opportunities (as many as MAX_RELATED of each)."""
    tables = {t.logical_name: t for t in await list_tables(call)}
    found: list[str] = []
    for name, condition in (("contact", f"_parentcustomerid_value eq {account_id}"),
                            ("opportunity", f"_customerid_value eq {account_id} or _parentaccountid_value eq "
                                            f"{account_id}")):
        summary = tables.get(name)
        if summary is None:
            continue
        with dataverse_errors(table=name):
            page = await call.client.query(summary.entity_set, select=[summary.primary_id], filter=condition,
                                           page_size=MAX_RELATED, annotations=False)
        found += [str(row[summary.primary_id]) for row in page.rows if row.get(summary.primary_id)]
    return found


async def _page(call: ToolCall, state: dict[str, Any]) -> TimelineResult:
    top, seen = int(state["top"]), set(state["seen"])
    kinds = state["kinds"] or [*ACTIVITY_KINDS, "note"]
    tables = {t.logical_name: t for t in await list_tables(call)}
    items: list[TimelineItem] = []
    wanted = top + len(seen) + 1  # enough to fill the page after dropping what the last page showed
    if any(kind in ACTIVITY_KINDS for kind in kinds) and "activitypointer" in tables:
        items += await _activities(call, tables["activitypointer"], state, kinds, wanted)
    if "note" in kinds and "annotation" in tables:
        items += await _notes(call, tables["annotation"], state, wanted)
    items = sorted((item for item in items if item.id not in seen), key=lambda item: (item.when, item.id),
                   reverse=True)
    page, more = items[:top], len(items) > top
    next_cursor = None
    if more:
        last = page[-1].when
        shown_at_last = [item.id for item in page if item.when == last]
        carried = list(seen) if last == state["before"] else []
        next_state = state | {"before": last, "seen": carried + shown_at_last}
        next_cursor = call.cursor_for(TOOL, next_state)
    return TimelineResult(table=state["table"], id=state["id"], name=state["name"], items=page, more=more,
                          cursor=next_cursor)


def _range(column: str, state: dict[str, Any]) -> list[str]:
    conditions = []
    if state["since"]:
        conditions.append(f"{column} ge {state['since']}")
    if state["until"]:
        conditions.append(f"{column} le {state['until']}")
    if state["before"]:
        conditions.append(f"{column} le {state['before']}")
    return conditions


def _any_of(column: str, ids: list[str]) -> str:
    return "(" + " or ".join(f"{column} eq {value}" for value in ids) + ")"


async def _activities(call: ToolCall, table: TableSummary, state: dict[str, Any], kinds: list[str],
                      wanted: int) -> list[TimelineItem]:
    conditions = [_any_of("_regardingobjectid_value", state["regarding"]), *_range("sortdate", state)]
    chosen = [kind for kind in kinds if kind in ACTIVITY_KINDS]
    if len(chosen) < len(ACTIVITY_KINDS):
        conditions.append("(" + " or ".join(f"activitytypecode eq '{kind}'" for kind in chosen) + ")")
    with dataverse_errors(table="activitypointer"):
        page = await call.client.query(
            table.entity_set, select=["activityid", "activitytypecode", "subject", "description", "statecode",
                                      "sortdate", "_ownerid_value", "_regardingobjectid_value"],
            filter=" and ".join(conditions), orderby="sortdate desc,activityid desc", page_size=wanted)
    items = []
    for row in page.rows:
        kind = str(row.get("activitytypecode") or "activity")
        items.append(TimelineItem(
            kind=kind, id=str(row["activityid"]), subject=row.get("subject"), when=_utc(row.get("sortdate")),
            who=_party(row, "_ownerid_value"), status=_choice(row, "statecode"), body=_short(row.get("description")),
            regarding=_regarding(row, "_regardingobjectid_value", state),
            url=record_url(call, kind, str(row["activityid"])),
        ))
    return items


async def _notes(call: ToolCall, table: TableSummary, state: dict[str, Any], wanted: int) -> list[TimelineItem]:
    conditions = [_any_of("_objectid_value", state["regarding"]), *_range("createdon", state)]
    with dataverse_errors(table="annotation"):
        page = await call.client.query(
            table.entity_set, select=["annotationid", "subject", "notetext", "createdon", "_ownerid_value",
                                      "_objectid_value"],
            filter=" and ".join(conditions), orderby="createdon desc,annotationid desc", page_size=wanted)
    return [TimelineItem(
        kind="note", id=str(row["annotationid"]), subject=row.get("subject"), when=_utc(row.get("createdon")),
        who=_party(row, "_ownerid_value"), body=_short(row.get("notetext")),
        regarding=_regarding(row, "_objectid_value", state),
        url=record_url(call, "annotation", str(row["annotationid"])),
    ) for row in page.rows]


def _utc(value: object) -> str:
    """An instant as Dataverse returns it (UTC, Z); the cursor and the merge compare these strings."""
    return str(value) if value else "1900-01-01T00:00:00Z"


def _party(row: dict[str, Any], wire: str) -> Party | None:
    value = row.get(wire)
    return Party(id=str(value), name=row.get(wire + FORMATTED)) if value else None


def _choice(row: dict[str, Any], column: str) -> Choice | None:
    value = row.get(column)
    return Choice(value=int(value), label=row.get(column + FORMATTED)) if isinstance(value, int) else None


def _regarding(row: dict[str, Any], wire: str, state: dict[str, Any]) -> dict[str, Any] | None:
    """Where a related item belongs, when it is not the record itself (an account's contact or opportunity)."""
    value = row.get(wire)
    if not value or str(value) == state["id"]:
        return None
    table = row.get(wire + "@Microsoft.Dynamics.CRM.lookuplogicalname")
    return {"table": table, "id": str(value), "name": row.get(wire + FORMATTED)}


def _short(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= BODY_CHARS else flat[:BODY_CHARS - 1].rstrip() + "…"


def _instant(text: str | None, name: str, *, end_of_day: bool) -> str | None:
    """An ISO date or date-time as a UTC OData literal; a date covers its whole day."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value)
            moment = day.replace(hour=23, minute=59, second=59) if end_of_day else day
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(f"`{name}` must be a date like 2026-03-01 or a date-time like "
                                   "2026-03-01T09:00:00Z.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
