"""People an activity involves, as a person names them: "me", a name ("Jane Doe") or an email address, resolved to one
record the signed-in user can see, among users, contacts, leads and accounts (in that order). A name that matches
several records lists them; one that matches none says where it looked."""

from __future__ import annotations

from dataclasses import dataclass

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidValueError, dataverse_errors
from dataverse.tools.schema.lookup import get_whoami, list_tables
from dataverse.tools.values.lookups import ME_WORDS
from dataverse.webapi.odata import format_guid, quote_string

# (table, name column, email column): where a participant is looked for, in order.
PARTY_SOURCES = (
    ("systemuser", "fullname", "internalemailaddress"),
    ("contact", "fullname", "emailaddress1"),
    ("lead", "fullname", "emailaddress1"),
    ("account", "name", "emailaddress1"),
)
LISTED = 5


@dataclass(frozen=True)
class Participant:
    table: str
    id: str
    name: str | None
    entity_set: str


async def resolve_participant(call: ToolCall, given: str) -> Participant:
    """The one record `given` names; InvalidValueError naming the candidates or where it looked."""
    text = " ".join(str(given).split())
    if not text:
        raise InvalidValueError("A participant is empty: give a name, an email address or 'me'.")
    tables = {table.logical_name: table for table in await list_tables(call)}
    if text.casefold() in ME_WORDS:
        me = await get_whoami(call)
        return Participant("systemuser", me.user_id, me.name, tables["systemuser"].entity_set)
    found: list[Participant] = []
    for table_name, name_column, email_column in PARTY_SOURCES:
        summary = tables.get(table_name)
        if summary is None:
            continue
        column = email_column if "@" in text else name_column
        with dataverse_errors(table=table_name):
            page = await call.client.query(summary.entity_set, select=[summary.primary_id, name_column],
                                           filter=f"{column} eq {quote_string(text)}", page_size=LISTED + 1,
                                           annotations=False)
        found += [Participant(table_name, format_guid(str(row[summary.primary_id])), row.get(name_column),
                              summary.entity_set) for row in page.rows]
        if found:
            break  # a user named Jane wins over a contact named Jane: people log their own colleagues first
    if len(found) == 1:
        return found[0]
    if not found:
        where = ", ".join(source[0] for source in PARTY_SOURCES)
        raise InvalidValueError(f"No {where} you can see is named or has the email {text!r}. Check the spelling, "
                                "or give the email address.")
    listed = "; ".join(f"{p.name} ({p.table} {p.id})" for p in found[:LISTED])
    raise InvalidValueError(f"{text!r} matches several records: {listed}. Give the email address instead.")
