"""The seeded change history: what the audit log would hold had the sample data been entered through the app, so
"who changed what, when" has answers from the start (and nothing, when the organisation audits nothing).

Every seeded row of an audited table gets its Create entry, at its createdon, by its creator. Opportunities were
created in the first stage and open: their Create shows stage 0 / "1-Qualify" at 10 %, and at their modifiedon an
Update moves them to the stage they are in now; closed ones were then won (44 Win) or lost (45 Lose), which set
their state, status, actual revenue and close date. Ids are stable for a seed (audit.AuditLog.record, seeded=True).
"""

from __future__ import annotations

from typing import Any

from dataverse.sandbox.dataverse.audit import CREATE, LOSE, UPDATE, WIN, audited_values
from dataverse.sandbox.dataverse.model import LookupValue, Row, Table
from dataverse.sandbox.dataverse.row_rules import STEP_NAMES
from dataverse.sandbox.dataverse.state import SandboxOrganization

HISTORY_TABLES = ("account", "contact", "lead", "opportunity", "appointment", "task", "phonecall", "email",
                  "annotation")
CLOSING_COLUMNS = ("statecode", "statuscode", "actualvalue", "actualclosedate")


def seed_history(org: SandboxOrganization) -> None:
    for name in HISTORY_TABLES:
        seed_created_history(org, name, list(org.rows[name].values()))


def seed_created_history(org: SandboxOrganization, name: str, rows: list[Row]) -> None:
    """The history of seeded `rows` of table `name` (seed_documented adds its emails' with this, after the rest)."""
    table = org.table(name)
    if not org.audit.enabled or not table.audit_enabled:
        return
    for row in rows:
        if name == "opportunity":
            _opportunity_history(org, table, row)
        else:
            org.audit.record(table, _target(table, row), CREATE, user_id=_author(row), when=row["createdon"],
                             new=audited_values(table, row), seeded=True)


def _target(table: Table, row: Row) -> LookupValue:
    return LookupValue(table.logical_name, str(row[table.primary_id]))


def _author(row: Row) -> str:
    author = row.get("createdby") or row.get("ownerid")
    return str(author.id) if isinstance(author, LookupValue) else ""


def _opportunity_history(org: SandboxOrganization, table: Table, row: Row) -> None:
    now = audited_values(table, row)
    first = dict(now)
    first.update(salesstage=0, stepname=STEP_NAMES[0], closeprobability=10, statecode=0, statuscode=1)
    for name in ("actualvalue", "actualclosedate"):
        first.pop(name, None)
    target, author = _target(table, row), _author(row)
    org.audit.record(table, target, CREATE, user_id=author, when=row["createdon"], new=first, seeded=True)
    changed = [name for name in {*first, *now} if first.get(name) != now.get(name)]
    progress = [name for name in changed if name not in CLOSING_COLUMNS]
    if progress:
        org.audit.record(table, target, UPDATE, user_id=author, when=row["modifiedon"], seeded=True,
                         old=_pick(first, progress), new=_pick(now, progress))
    closing = [name for name in changed if name in CLOSING_COLUMNS]
    if closing:
        org.audit.record(table, target, WIN if row["statecode"] == 1 else LOSE, user_id=author,
                         when=row["modifiedon"], seeded=True, old=_pick(first, closing), new=_pick(now, closing))


def _pick(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {name: values[name] for name in sorted(names) if name in values}
