"""The sandbox's audit log: an `audit` row, with the old and new values of the changed columns, for every write the
organisation applies while auditing is on.

Writes are recorded at the one place they are applied: `SandboxOrganization.put_row` and `remove_row` call
`record_store` and `record_delete`, so create, update/upsert, delete (and the updates and deletes its cascades make),
and any later write path that stores rows through the organisation, are audited without knowing about it. A write is
attributed to the user the request acts as (`acting_as`, which the HTTP app sets around every authenticated request);
rows stored with no acting user (the seed, a test's set-up) are not recorded: they model data that already existed.

What is recorded follows PD `auditing/configure.md` and `retrieve-audit-data.md`:
- only when three switches are on: the organization's `isauditenabled` (`AuditLog.enabled`), the table's
  IsAuditEnabled (`Table.audit_enabled`) and, per column, Attributes.IsAuditEnabled (`Column.audit_enabled`);
- action 1 Create (new values of every audited column set), 3 Delete (old values), 2 Update (old and new values of
  the changed columns only). As Dataverse turns an Update that changes the owner or the state into Assign and
  SetState, those changes get their own rows: 13 Assign (ownerid) and 4 Activate / 5 Deactivate (tables whose
  states are Active/Inactive) or 41 Set State (statecode and statuscode). A write path that knows its message
  (WinOpportunity is 44 Win, LoseOpportunity 45 Lose, QualifyLead 24 Qualify on the lead) passes `audit_action=` to
  put_row (through writes) and gets one row with that action for all its changes;
- operation 1 Create, 2 Update, 3 Delete; one transactionid per stored row; attributemask = the changed columns'
  ColumnNumber values.
Each row's `createdon` is unique and increasing (a microsecond apart where the clock repeats itself), so ordering the
log by createdon, as `audits?$orderby=createdon desc` and RetrieveRecordChangeHistory both do, gives one order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from dataverse.sandbox.dataverse.metadata import column_number
from dataverse.sandbox.dataverse.model import LookupValue, Row, Table

CREATE, UPDATE, DELETE, ACTIVATE, DEACTIVATE, ASSIGN, QUALIFY, SET_STATE, WIN, LOSE = 1, 2, 3, 4, 5, 13, 24, 41, 44, 45
OPERATIONS = {CREATE: 1, DELETE: 3}  # every other action is an Update operation
_ACTING_USER: ContextVar[str | None] = ContextVar("sandbox_dataverse_acting_user", default=None)
_SEED_NAMESPACE = uuid.UUID("2f7d7c55-0d9e-4d5c-9a4b-5d1e0a7b0a11")
_STATE_COLUMNS = ("statecode", "statuscode")


def audited_values(table: Table, row: Row, names: list[str] | None = None) -> dict[str, Any]:
    """The row's non-null values of its audited columns (of `names` only, when given)."""
    wanted = names if names is not None else [name for name, column in table.columns.items() if column.audit_enabled]
    return {name: row[name] for name in wanted if row.get(name) is not None}


class Organization(Protocol):
    """What the log needs of the organisation (state.SandboxOrganization)."""

    organization_id: str
    rows: dict[str, dict[str, Row]]

    def now(self) -> datetime: ...

    def get_row(self, logical_name: str, row_id: str) -> Row | None: ...


@dataclass(frozen=True)
class AuditEntry:
    """One audit row and what it recorded: old and new values (Python-native, nulls left out) of the columns it
    changed."""

    audit_id: str
    object: LookupValue
    action: int
    operation: int
    user_id: str
    created_on: datetime
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    """The organisation's audit log (rows in the `audit` table, details here)."""

    def __init__(self, org: Organization):
        self._org = org
        self._entries: dict[str, AuditEntry] = {}
        self._used_stamps: set[datetime] = set()

    # --- the switch ----------------------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """organizations.isauditenabled: with it off nothing is recorded (what was recorded before stays)."""
        row = self._org.get_row("organization", self._org.organization_id)
        return bool(row and row.get("isauditenabled"))

    @enabled.setter
    def enabled(self, value: bool) -> None:
        row = self._org.get_row("organization", self._org.organization_id)
        if row is not None:
            row["isauditenabled"] = bool(value)

    # --- who writes ----------------------------------------------------------------------------------------------
    @contextmanager
    def acting_as(self, user_id: str) -> Iterator[None]:
        """Attribute the writes made inside the block to `user_id` (the HTTP app wraps every request in this)."""
        token = _ACTING_USER.set(user_id)
        try:
            yield
        finally:
            _ACTING_USER.reset(token)

    # --- recording -----------------------------------------------------------------------------------------------
    def record_store(self, table: Table, old: Row | None, new: Row, *, action: int | None = None) -> None:
        """Record storing `new` over `old` (None for a create) by the acting user."""
        user_id = _ACTING_USER.get()
        if user_id is None or not self._audits(table):
            return
        target = LookupValue(table.logical_name, str(new[table.primary_id]))
        if old is None:
            self.record(table, target, action or CREATE, user_id=user_id, new=audited_values(table, new))
            return
        changed = [name for name, column in table.columns.items()
                   if column.audit_enabled and old.get(name) != new.get(name)]
        if not changed:
            return
        transaction = str(uuid.uuid4())
        groups: list[tuple[int, list[str]]] = []
        if action is not None:
            groups.append((action, changed))
        else:
            if "ownerid" in changed:
                groups.append((ASSIGN, ["ownerid"]))
            if any(name in changed for name in _STATE_COLUMNS):
                states = [name for name in _STATE_COLUMNS if name in table.columns]
                groups.append((self._state_action(table, new), states))
            rest = [name for name in changed if name != "ownerid" and name not in _STATE_COLUMNS]
            if rest:
                groups.insert(0, (UPDATE, rest))
        for group_action, names in groups:
            self.record(table, target, group_action, user_id=user_id, transaction_id=transaction,
                        old=audited_values(table, old, names), new=audited_values(table, new, names))

    def record_delete(self, table: Table, old: Row) -> None:
        user_id = _ACTING_USER.get()
        if user_id is None or not self._audits(table):
            return
        target = LookupValue(table.logical_name, str(old[table.primary_id]))
        self.record(table, target, DELETE, user_id=user_id, old=audited_values(table, old))

    def record(self, table: Table, target: LookupValue, action: int, *, user_id: str, when: datetime | None = None,
               old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
               transaction_id: str | None = None, seeded: bool = False) -> AuditEntry:
        """Write one audit row (the seed uses this directly, with `when` and `seeded=True` for stable ids)."""
        created_on = self._unique_stamp(when or self._org.now())
        sequence = len(self._entries)
        audit_id = (str(uuid.uuid5(_SEED_NAMESPACE, f"{target.table}/{target.id}/{sequence}")) if seeded
                    else str(uuid.uuid4()))
        entry = AuditEntry(audit_id, target, action, OPERATIONS.get(action, 2), user_id, created_on,
                           dict(old or {}), dict(new or {}))
        self._entries[audit_id] = entry
        names = sorted({*entry.old, *entry.new}, key=lambda name: column_number(table, name))
        self._org.rows["audit"][audit_id] = {
            "auditid": audit_id, "action": action, "operation": entry.operation, "objectid": target,
            "objecttypecode": target.table, "userid": LookupValue("systemuser", user_id), "callinguserid": None,
            "createdon": created_on, "attributemask": ",".join(str(column_number(table, name)) for name in names),
            "transactionid": transaction_id or (audit_id if seeded else str(uuid.uuid4())),
            "useradditionalinfo": None,
        }
        return entry

    def checkpoint(self) -> int:
        """A mark to `rollback` to (SandboxOrganization.snapshot, for transactions: a rolled-back deep insert, action or
        `$batch` change set leaves no audit behind)."""
        return len(self._entries)

    def rollback(self, mark: int) -> None:
        """Forget the entries recorded since `checkpoint()` returned `mark` (their audit rows are the caller's)."""
        for audit_id in list(self._entries)[mark:]:
            entry = self._entries.pop(audit_id)
            self._used_stamps.discard(entry.created_on)

    # --- reading -------------------------------------------------------------------------------------------------
    def entry(self, audit_id: str) -> AuditEntry | None:
        return self._entries.get(audit_id.lower())

    def history(self, logical_name: str, object_id: str) -> list[AuditEntry]:
        """The record's audit entries, newest first."""
        wanted = LookupValue(logical_name, object_id.lower())
        entries = [entry for entry in self._entries.values() if entry.object == wanted]
        return sorted(entries, key=lambda entry: entry.created_on, reverse=True)

    # --- helpers -------------------------------------------------------------------------------------------------
    def _audits(self, table: Table) -> bool:
        return self.enabled and table.audit_enabled

    @staticmethod
    def _state_action(table: Table, row: Row) -> int:
        states = table.columns.get("statecode")
        labels = [option.label for option in states.options] if states else []
        if labels == ["Active", "Inactive"]:
            return ACTIVATE if row.get("statecode") == 0 else DEACTIVATE
        return SET_STATE

    def _unique_stamp(self, when: datetime) -> datetime:
        while when in self._used_stamps:
            when += timedelta(microseconds=1)
        self._used_stamps.add(when)
        return when
