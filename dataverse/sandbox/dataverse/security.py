"""Row security modelled on Dataverse's Salesperson and Sales Manager roles.

A rep reads what they own, what a team they belong to owns, what was shared with them or their team, the directory
tables (systemuser, businessunit, team, role), organisation-owned tables (competitor, savedquery, organization) and
their own usersettings; a manager reads everything. A rep writes (update, assign, delete, append) only rows they or
their team own; shared rows are read-only to them. A record outside reach is invisible: retrieve answers 404 and
queries leave it out. A visible record the caller may not change answers 403 with the missing privilege
(`privileges`). Exceptions, as in Dataverse: personal views (userquery) are private to their owner (and whoever they
are shared with), managers included; an activity party is readable when its activity is; the audit log needs the
prvReadAuditSummary privilege (403 without it) and then shows every row. `SecuredDataset` is the `model.Dataset`
handed to the query engines.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataverse.sandbox.dataverse.model import LookupValue, QueryContext, Row, SandboxError, Table
from dataverse.sandbox.dataverse.privileges import PRIVILEGE_DENIED, READ_AUDIT_SUMMARY, Verb, privilege_denied
from dataverse.sandbox.dataverse.schema import ACTIVITY_TABLES
from dataverse.sandbox.dataverse.state import SandboxOrganization

__all__ = ["DIRECTORY_TABLES", "NOT_FOUND", "PRIVATE_TABLES", "PRIVILEGE_DENIED", "Caller", "SecuredDataset",
           "caller_for", "not_found"]

DIRECTORY_TABLES = frozenset({"systemuser", "businessunit", "team", "role"})
PRIVATE_TABLES = frozenset({"userquery"})
NOT_FOUND = "0x80040217"


@dataclass(frozen=True)
class Caller:
    """The signed-in systemuser and what their security depends on."""

    user_id: str
    team_ids: tuple[str, ...]
    is_manager: bool

    @property
    def principals(self) -> frozenset[str]:
        return frozenset((self.user_id, *self.team_ids))


def caller_for(org: SandboxOrganization, user_id: str) -> Caller:
    return Caller(user_id, org.teams_of(user_id), org.is_manager(user_id))


def not_found(table: Table, row_id: str) -> SandboxError:
    """The documented shape: "account With Id = <id> Does Not Exist" (PD webapi/perform-conditional-operations-using-
    web-api.md, "Prevent create in upsert")."""
    return SandboxError(404, NOT_FOUND, f"{table.logical_name} With Id = {row_id} Does Not Exist")


class SecuredDataset:
    """The organisation as one caller sees it (implements model.Dataset)."""

    def __init__(self, org: SandboxOrganization, caller: Caller):
        self.org = org
        self.caller = caller

    # --- model.Dataset -------------------------------------------------------------------------------------------
    def table(self, logical_name: str) -> Table:
        return self.org.table(logical_name)

    def table_by_entity_set(self, entity_set: str) -> Table:
        return self.org.table_by_entity_set(entity_set)

    def rows(self, logical_name: str) -> list[Row]:
        if logical_name == "audit":
            self.org.privileges.require(self.caller.user_id, READ_AUDIT_SUMMARY)
        return [row for row in self.org.all_rows(logical_name) if self.can_read(logical_name, row)]

    def get(self, logical_name: str, row_id: str) -> Row | None:
        row = self.org.get_row(logical_name, row_id)
        return row if row is not None and self.can_read(logical_name, row) else None

    # --- checks --------------------------------------------------------------------------------------------------
    def can_read(self, logical_name: str, row: Row) -> bool:
        if logical_name == "audit":
            return self.org.privileges.has(self.caller.user_id, READ_AUDIT_SUMMARY)
        if logical_name == "activityparty":
            activity = row.get("activityid")
            if not isinstance(activity, LookupValue):
                return False
            parent = self.org.get_row(activity.table, activity.id)
            return parent is not None and self.can_read(activity.table, parent)
        if (self.caller.is_manager and logical_name not in PRIVATE_TABLES) or logical_name in DIRECTORY_TABLES:
            return True
        table = self.org.table(logical_name)
        row_id = row.get(table.primary_id)
        if logical_name == "usersettings":
            return row_id == self.caller.user_id
        if table.ownership == "OrganizationOwned":
            return True  # organisation-owned tables are read at organisation depth
        if self._owns(row):
            return True
        if not isinstance(row_id, str):
            return False  # a row without an id cannot have been shared
        shared = self.org.shares.get((logical_name, row_id), set())
        if logical_name == "activitypointer":
            shared = set().union(*(self.org.shares.get((name, row_id), set()) for name in ACTIVITY_TABLES))
        return bool(shared & self.caller.principals)

    def can_write(self, logical_name: str, row: Row) -> bool:
        if logical_name in PRIVATE_TABLES:
            return self._owns(row)
        if self.caller.is_manager:
            return True
        if logical_name in DIRECTORY_TABLES:
            return False
        if logical_name == "usersettings":
            return row.get("systemuserid") == self.caller.user_id
        return self._owns(row)

    def can_assign_to(self, owner_id: str) -> bool:
        """A rep may only create or assign records owned by themselves or their team."""
        return self.caller.is_manager or owner_id in self.caller.principals

    def _owns(self, row: Row) -> bool:
        owner = self.org.owner_of(row)
        return owner is not None and owner.id in self.caller.principals

    # --- helpers for the routes ----------------------------------------------------------------------------------
    def get_or_404(self, table: Table, row_id: str) -> Row:
        """The visible row, or 404; an audit row without prvReadAuditSummary is 403, as reading the log is."""
        if table.logical_name == "audit":
            self.org.privileges.require(self.caller.user_id, READ_AUDIT_SUMMARY)
        row = self.get(table.logical_name, row_id)
        if row is None:
            raise not_found(table, row_id)
        return row

    def require_write(self, table: Table, row: Row, verb: Verb = "Write") -> None:
        """403 unless the caller may change `row` (Write, Delete, Assign and Append follow the same depth here)."""
        if not self.can_write(table.logical_name, row):
            raise privilege_denied(self.caller.user_id, verb, table)

    def require_append(self, table: Table, row: Row, verb: Verb = "Append") -> None:
        """403 unless the caller may link `row` to others (Append) or others to it (AppendTo). Organisation-owned
        rows (competitors, users) take links from anyone who reads them; owned rows follow the write depth."""
        if table.ownership == "OrganizationOwned" and table.logical_name != "usersettings":
            return
        self.require_write(table, row, verb)

    def require_append_to(self, table: Table, row: Row) -> None:
        self.require_append(table, row, "AppendTo")

    def query_context(self) -> QueryContext:
        return QueryContext(user_id=self.caller.user_id, now=self.org.now(),
                            user_timezone=self.org.timezone_of(self.caller.user_id),
                            team_ids=self.caller.team_ids)
