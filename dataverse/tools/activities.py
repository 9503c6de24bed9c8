"""Logging what happened: `log_activity` records a note, task, phone call or appointment regarding a record, with its
participants, in one call ("log that I called Jane about pricing").

Values go through the same conversion as create_record (values/write_body.py): times without an offset are the
user's local time, the regarding record binds through its typed navigation property. Participants are resolved by
name, email or "me" (values/participants.py) and written as activity parties: a phone call's caller (from) and
called (to), an appointment's organizer and required attendees. A phone call is logged as made (completed) unless
`completed` is false; a note's text is stored as the plain text it was given."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from dataverse.audit import current_scope
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, record_id_argument
from dataverse.tools.kit.params import RecordId, TableName
from dataverse.tools.kit.registry import WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table, resolve_table
from dataverse.tools.values.links import record_url
from dataverse.tools.values.participants import Participant, resolve_participant
from dataverse.tools.values.write_body import write_body

Kind = Literal["note", "task", "phonecall", "appointment"]
SENDER, TO_RECIPIENT, REQUIRED_ATTENDEE, ORGANIZER = 1, 2, 5, 7
# statuscode of a completed activity, per kind (phone call: made when outgoing, received when incoming)
COMPLETED_STATUS = {"task": 5, "appointment": 3, "phonecall": 2}
CALLABLE_TABLES = frozenset({"contact", "lead", "account", "systemuser"})

group: ToolGroup[None] = ToolGroup("activities")

People = Annotated[list[str] | None, Field(description="Appointment: names, emails or 'me'.")]


class LoggedActivity(ResultModel):
    table: str
    id: str
    subject: str | None = None
    url: str
    regarding: dict[str, str]
    participants: list[dict[str, Any]] | None = None
    completed: bool
    values: dict[str, Any]


@group.tool(title="Log an activity", annotations=WRITE, requires="write", description=(
    "Record a note, task, phone call or appointment regarding a record, with its participants (by name, email or "
    "'me'); times are the user's local time."))
async def log_activity(
    call: ToolCall,
    kind: Kind,
    table: TableName,
    id: RecordId,
    subject: Annotated[str | None, Field(description="Required but for a note.")] = None,
    text: Annotated[str | None, Field(description="Plain text.")] = None,
    to: Annotated[list[str] | None, Field(description="Call: who was called (default: the record).")] = None,
    sender: Annotated[str | None, Field(description="Call: who called (default: me).")] = None,
    attendees: People = None,
    due: Annotated[str | None, Field(description="Task due, local time.")] = None,
    start: str | None = None,
    end: str | None = None,
    incoming: bool = False,
    completed: Annotated[bool | None, Field(description="Default: yes for a call.")] = None,
) -> LoggedActivity:
    record_id = record_id_argument(id)
    regarding = await resolve_table(call, table)
    with dataverse_errors(table=regarding.logical_name, record_id=record_id):
        target = await call.client.retrieve(regarding.entity_set, record_id,
                                            select=[regarding.primary_name or regarding.primary_id])
    regarding_ref = {"table": regarding.logical_name, "id": record_id}
    if kind == "note":
        return await _log_note(call, regarding_ref, subject, text)
    if not subject or not subject.strip():
        raise InvalidArgumentError(f"A {kind} needs a `subject`, e.g. subject='Pricing call'.")
    values: dict[str, Any] = {"subject": subject.strip(), "regardingobjectid": regarding_ref}
    if text:
        values["description"] = text
    parties: list[tuple[Participant, int]] = []
    if kind == "task":
        if due:
            values["scheduledend"] = due
    elif kind == "phonecall":
        values["directioncode"] = not incoming
        values |= {name: value for name, value in (("scheduledstart", start), ("scheduledend", end)) if value}
        callee = to or ([str(target.get(regarding.primary_name or "") or "")] if regarding.logical_name
                        in CALLABLE_TABLES else [])
        caller = await resolve_participant(call, sender or "me")
        called = [await _party_for(call, name, regarding.logical_name, record_id, target, regarding.primary_name)
                  for name in callee if name]
        parties = [(caller, SENDER), *((person, TO_RECIPIENT) for person in called)]
        if incoming:
            parties = [(person, SENDER) for person in called] + [(caller, TO_RECIPIENT)]
    else:  # appointment
        if not (start and end):
            raise InvalidArgumentError("An appointment needs `start` and `end`, e.g. start='2026-03-13T14:00', "
                                       "end='2026-03-13T15:00' (the user's local time).")
        values |= {"scheduledstart": start, "scheduledend": end}
        organizer = await resolve_participant(call, "me")
        parties = [(organizer, ORGANIZER), *[(await resolve_participant(call, name), REQUIRED_ATTENDEE)
                                             for name in attendees or []]]
    done = completed if completed is not None else kind == "phonecall"
    return await _create_activity(call, kind, values, parties, done, incoming, regarding_ref)


async def _party_for(call: ToolCall, name: str, table: str, record_id: str, target: dict[str, Any],
                     primary_name: str | None) -> Participant:
    """The regarding record itself when `name` is its own name (no search needed), else a resolved participant."""
    if primary_name and name == target.get(primary_name) and table in CALLABLE_TABLES:
        summary = await resolve_table(call, table)
        return Participant(table, record_id, name, summary.entity_set)
    return await resolve_participant(call, name)


async def _create_activity(call: ToolCall, kind: str, values: dict[str, Any], parties: list[tuple[Participant, int]],
                           done: bool, incoming: bool, regarding: dict[str, str]) -> LoggedActivity:
    metadata = await describe_named_table(call, kind)
    summary = metadata.table
    body, understood = await write_body(call, metadata, values, operation="create", record_id=None)
    if parties:
        body[f"{kind}_activity_parties"] = [
            {f"partyid_{person.table}@odata.bind": f"/{person.entity_set}({person.id})",
             "participationtypemask": mask} for person, mask in parties]
    with dataverse_errors(operation="create", table=kind, primary_name="subject", given_name=values.get("subject")):
        activity_id = await call.client.create(summary.entity_set, body)
    if (scope := current_scope()) is not None:
        scope.set_target(record_id=activity_id)
    if done:
        status = 4 if kind == "phonecall" and incoming else COMPLETED_STATUS[kind]
        ended = body.get("scheduledend") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with dataverse_errors(operation="update", table=kind, record_id=activity_id):
            await call.client.update(summary.entity_set, activity_id,
                                     {"statecode": 1, "statuscode": status, "actualend": ended})
    return LoggedActivity(
        table=kind, id=activity_id, subject=values.get("subject"), url=record_url(call, kind, activity_id),
        regarding=regarding, completed=done, values=understood,
        participants=[{"role": _ROLES[mask], "table": person.table, "id": person.id, "name": person.name}
                      for person, mask in parties] or None,
    )


_ROLES = {SENDER: "from", TO_RECIPIENT: "to", REQUIRED_ATTENDEE: "required", ORGANIZER: "organizer"}


async def _log_note(call: ToolCall, regarding: dict[str, str], subject: str | None,
                    text: str | None) -> LoggedActivity:
    if not (text and text.strip()) and not (subject and subject.strip()):
        raise InvalidArgumentError("A note needs `text` (plain text), and may have a `subject`.")
    metadata = await describe_named_table(call, "annotation")
    values: dict[str, Any] = {"objectid": regarding}
    if subject:
        values["subject"] = subject.strip()
    if text:
        values["notetext"] = text  # stored as given: plain text, never wrapped in HTML
    body, understood = await write_body(call, metadata, values, operation="create", record_id=None)
    with dataverse_errors(operation="create", table="annotation"):
        note_id = await call.client.create(metadata.table.entity_set, body)
    if (scope := current_scope()) is not None:
        scope.set_target(record_id=note_id)
    return LoggedActivity(table="annotation", id=note_id, subject=values.get("subject"), regarding=regarding,
                          url=record_url(call, "annotation", note_id), completed=True,
                          values=understood)
