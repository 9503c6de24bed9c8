"""Owners as a person names them: "me", a user's name or email, or a team's name, resolved to one user or team the
signed-in user can see. Used where a record changes hands (assign_record)."""

from __future__ import annotations

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidValueError, dataverse_errors
from dataverse.tools.schema.lookup import get_whoami, list_tables
from dataverse.tools.values.lookups import ME_WORDS
from dataverse.tools.values.participants import Participant
from dataverse.webapi.odata import format_guid, quote_string

LISTED = 5


async def resolve_principal(call: ToolCall, given: str) -> Participant:
    """The one user or team `given` names (an id, "me", a name or an email); InvalidValueError otherwise."""
    text = " ".join(str(given).split())
    tables = {table.logical_name: table for table in await list_tables(call)}
    users, teams = tables.get("systemuser"), tables.get("team")
    if users is None:
        raise InvalidValueError("Users are not available through this connector, so nobody can be named owner.")
    if text.casefold() in ME_WORDS:
        me = await get_whoami(call)
        return Participant("systemuser", me.user_id, me.name, users.entity_set)
    try:
        record_id = format_guid(text)
    except ValueError:
        record_id = None
    searches = [(users, f"systemuserid eq {record_id}") if record_id else
                (users, f"internalemailaddress eq {quote_string(text)}" if "@" in text
                 else f"fullname eq {quote_string(text)}")]
    if teams is not None:
        searches.append((teams, f"teamid eq {record_id}") if record_id else (teams, f"name eq {quote_string(text)}"))
    found: list[Participant] = []
    for summary, condition in searches:
        name_column = summary.primary_name or summary.primary_id
        with dataverse_errors(table=summary.logical_name):
            page = await call.client.query(summary.entity_set, select=[summary.primary_id, name_column],
                                           filter=condition, page_size=LISTED + 1, annotations=False)
        found += [Participant(summary.logical_name, format_guid(str(row[summary.primary_id])), row.get(name_column),
                              summary.entity_set) for row in page.rows]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidValueError(f"No user or team you can see is {text!r}. Give a user's full name or email, a "
                                "team's name, or 'me'.")
    listed = "; ".join(f"{p.name} ({p.table} {p.id})" for p in found[:LISTED])
    raise InvalidValueError(f"{text!r} could be several owners: {listed}. Give the email address or the id.")
