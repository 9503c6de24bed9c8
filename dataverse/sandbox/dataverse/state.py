"""The sandbox organisation's state: schema, rows, team membership, sharing, the clock, row versions, the audit log,
role privileges, faults and request stats.

`put_row` and `remove_row` are where every write is applied: they fill what the platform computes (row_rules) and
record the change in the audit log (audit). Write paths store rows through them and nowhere else.

Everything a test or benchmark may want to look at or change at run time hangs off the `SandboxOrganization` object;
the HTTP app only reads and writes through it. `organization.create_sandbox_organization()` builds a seeded one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from dataverse.sandbox.dataverse.audit import AuditLog
from dataverse.sandbox.dataverse.faults import FaultPlan, RequestStats
from dataverse.sandbox.dataverse.model import LookupValue, ManyToMany, Row, Table
from dataverse.sandbox.dataverse.privileges import PrivilegeTable
from dataverse.sandbox.dataverse.row_rules import apply_row_rules
from dataverse.sandbox.dataverse.schema import ACTIVITY_TABLES, build_schema
from dataverse.sandbox.users import SANDBOX_BUSINESS_UNIT_ID, SANDBOX_ORGANIZATION_ID, SANDBOX_USERS

# Windows time zone index (usersettings.timezonecode) -> IANA zone, for the zones the sandbox uses or accepts.
TIMEZONE_CODES: dict[int, str] = {
    4: "America/Los_Angeles", 10: "America/Denver", 20: "America/Chicago", 35: "America/New_York",
    85: "Europe/London", 110: "Europe/Berlin", 105: "Europe/Paris", 235: "Asia/Tokyo", 255: "Australia/Sydney",
    190: "Asia/Kolkata", 0: "Etc/GMT+12", 92: "UTC",
}


@dataclass(frozen=True)
class Snapshot:
    """What `SandboxOrganization.restore` puts back: rows (the audit table's with them), shares and N:N links as they
    were, and the audit log's mark (`AuditLog.checkpoint`), so a rolled-back write leaves no audit trace."""

    rows: dict[str, dict[str, Row]]
    shares: dict[tuple[str, str], set[str]]
    links: dict[str, set[tuple[str, str]]]
    audit_mark: int


class SandboxOrganization:
    """One sandbox Dataverse environment held in memory."""

    def __init__(self, *, clock: Callable[[], datetime], today: date | None = None):
        self.tables: dict[str, Table] = build_schema()
        self._by_entity_set = {table.entity_set: table for table in self.tables.values()}
        self.rows: dict[str, dict[str, Row]] = {name: {} for name in self.tables if name != "activitypointer"}
        self.organization_id = SANDBOX_ORGANIZATION_ID
        self.business_unit_id = SANDBOX_BUSINESS_UNIT_ID
        self.team_members: dict[str, set[str]] = {}
        self.shares: dict[tuple[str, str], set[str]] = {}  # (table, row id) -> principals with read access
        self.links: dict[str, set[tuple[str, str]]] = {}  # N:N schema name -> (entity1 id, entity2 id) pairs
        self.roles: dict[str, str] = {user.systemuser_id: user.role for user in SANDBOX_USERS}
        self.privileges = PrivilegeTable()
        self.faults = FaultPlan()
        self.stats = RequestStats()
        self._clock = clock
        self._versions = itertools.count(1_480_000)
        self.today = today
        self.audit = AuditLog(self)
        self.rows["organization"][self.organization_id] = {
            "organizationid": self.organization_id, "name": "Sandbox", "isauditenabled": True,
            "auditretentionperiodv2": 30, "isuseraccessauditenabled": False, "createdon": self.now(),
            "modifiedon": self.now(), "versionnumber": 1_479_999,
        }

    # --- time ----------------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The organisation's current time, timezone-aware UTC, second precision (as Dataverse stores it)."""
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def next_version(self) -> int:
        return next(self._versions)

    # --- schema --------------------------------------------------------------------------------------------------
    def table(self, logical_name: str) -> Table:
        return self.tables[logical_name]

    def table_by_entity_set(self, entity_set: str) -> Table:
        return self._by_entity_set[entity_set]

    # --- people --------------------------------------------------------------------------------------------------
    def systemuser_for_object_id(self, object_id: str) -> Row:
        """The systemuser row whose azureactivedirectoryobjectid is `object_id`; KeyError if none."""
        wanted = object_id.lower()
        for row in self.rows["systemuser"].values():
            if str(row.get("azureactivedirectoryobjectid", "")).lower() == wanted and not row.get("isdisabled"):
                return row
        raise KeyError(object_id)

    def teams_of(self, user_id: str) -> tuple[str, ...]:
        return tuple(sorted(team for team, members in self.team_members.items() if user_id in members))

    def is_manager(self, user_id: str) -> bool:
        return self.roles.get(user_id) == "manager"

    def timezone_of(self, user_id: str) -> tzinfo:
        settings = self.rows["usersettings"].get(user_id)
        code = settings.get("timezonecode") if settings else None
        return ZoneInfo(TIMEZONE_CODES.get(code, "UTC")) if code is not None else UTC

    # --- rows ----------------------------------------------------------------------------------------------------
    def all_rows(self, logical_name: str) -> list[Row]:
        """Every row of a table regardless of security, in insertion order (activitypointer is the activity union)."""
        if logical_name == "activitypointer":
            return [self._as_activitypointer(row) for name in ACTIVITY_TABLES for row in self.rows[name].values()]
        return list(self.rows[logical_name].values())

    def get_row(self, logical_name: str, row_id: str) -> Row | None:
        row_id = row_id.lower()
        if logical_name == "activitypointer":
            for name in ACTIVITY_TABLES:
                if row_id in self.rows[name]:
                    return self._as_activitypointer(self.rows[name][row_id])
            return None
        return self.rows[logical_name].get(row_id)

    def put_row(self, logical_name: str, row: Row, *, audit_action: int | None = None) -> Row:
        """Store a row (new or replaced), stamping computed columns and a fresh version number, and audit the change.

        `audit_action` names the message for the audit log when it is not a plain Create/Update (e.g. 44 Win)."""
        table = self.tables[logical_name]
        old = self.rows[logical_name].get(row[table.primary_id])
        if "fullname" in table.columns and "lastname" in table.columns:
            row["fullname"] = " ".join(part for part in (row.get("firstname"), row.get("lastname")) if part) or None
        apply_row_rules(table, old, row, name_of=self.primary_name_of)
        row["versionnumber"] = self.next_version()
        self.rows[logical_name][row[table.primary_id]] = row
        self.audit.record_store(table, old, row, action=audit_action)
        return row

    def remove_row(self, logical_name: str, row_id: str) -> None:
        """Drop a row with its shares and its N:N links (Dataverse deletes the intersect rows with it), and audit it."""
        old = self.rows[logical_name].pop(row_id, None)
        self.shares.pop((logical_name, row_id), None)
        for relationship in self.tables[logical_name].many_to_many:
            side = 0 if relationship.entity1 == logical_name else 1
            pairs = self.links.get(relationship.schema_name, set())
            pairs -= {pair for pair in pairs if pair[side] == row_id}
        if old is not None:
            self.audit.record_delete(self.tables[logical_name], old)

    def primary_name_of(self, value: LookupValue) -> str | None:
        """The primary name of the row a lookup points at (None if it has none or is gone)."""
        table = self.tables.get(value.table)
        row = self.get_row(value.table, value.id) if table else None
        if row is None or table is None or not table.primary_name:
            return None
        name = row.get(table.primary_name)
        return str(name) if name is not None else None

    # --- N:N links (the intersect tables' rows) ------------------------------------------------------------------
    def link(self, relationship: ManyToMany, entity1_id: str, entity2_id: str) -> bool:
        """Add an intersect row; False if the two records were already linked."""
        pairs = self.links.setdefault(relationship.schema_name, set())
        pair = (entity1_id.lower(), entity2_id.lower())
        if pair in pairs:
            return False
        pairs.add(pair)
        return True

    def unlink(self, relationship: ManyToMany, entity1_id: str, entity2_id: str) -> bool:
        """Remove an intersect row; False if there was none."""
        pairs = self.links.get(relationship.schema_name, set())
        pair = (entity1_id.lower(), entity2_id.lower())
        if pair not in pairs:
            return False
        pairs.discard(pair)
        return True

    def linked_ids(self, relationship: ManyToMany, logical_name: str, row_id: str) -> list[str]:
        """The ids of the records at the other end of `relationship` linked to `logical_name` record `row_id`."""
        side = 0 if relationship.entity1 == logical_name else 1
        pairs = self.links.get(relationship.schema_name, set())
        return sorted(pair[1 - side] for pair in pairs if pair[side] == row_id.lower())

    # --- transactions --------------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A copy of everything a write can change, for rolling back a change set, a failed action or deep insert."""
        return Snapshot(
            rows={name: {row_id: dict(row) for row_id, row in rows.items()} for name, rows in self.rows.items()},
            shares={key: set(principals) for key, principals in self.shares.items()},
            links={name: set(pairs) for name, pairs in self.links.items()},
            audit_mark=self.audit.checkpoint(),
        )

    def restore(self, snapshot: Snapshot) -> None:
        """Put back the rows, shares, links and audit log of `snapshot` (row versions keep counting up, as in
        Dataverse). The table dictionaries are refilled in place, so references to `rows[<table>]` stay valid."""
        for name, rows in snapshot.rows.items():
            self.rows[name].clear()
            self.rows[name].update(rows)
        self.shares.clear()
        self.shares.update(snapshot.shares)
        self.links.clear()
        self.links.update(snapshot.links)
        self.audit.rollback(snapshot.audit_mark)  # the audit rows went back with `rows`; their details go too

    def share_with(self, logical_name: str, row_id: str, principal_id: str) -> None:
        self.shares.setdefault((logical_name, row_id), set()).add(principal_id)

    def _as_activitypointer(self, row: Row) -> Row:
        columns = self.tables["activitypointer"].columns
        return {name: value for name, value in row.items() if name in columns}

    def owner_of(self, row: Row) -> LookupValue | None:
        owner = row.get("ownerid")
        return owner if isinstance(owner, LookupValue) else None

