"""An audit entry as the Web API's `AttributeAuditDetail` complex type (PD `auditing/retrieve-audit-data.md`):

    {"@odata.type": "#Microsoft.Dynamics.CRM.AttributeAuditDetail", "InvalidNewValueAttributes": [],
     "LocLabelLanguageCode": 0, "DeletedAttributes": {"Count": 0, "Keys": [], "Values": []},
     "OldValue": {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "Old"},
     "NewValue": {"@odata.type": "#Microsoft.Dynamics.CRM.account", "description": "New"}}

Old/NewValue hold only the columns the change touched and leave out nulls (a create has an empty OldValue, a delete
an empty NewValue). Lookups are written `_x_value` with their FormattedValue, associatednavigationproperty and
lookuplogicalname annotations, as the documented answers show them without asking; other formatted values come only
when the Prefer header asks for them. Text over 5,000 characters is capped, ending "…". The item carries no
AuditRecord (no who or when), as documented: that is in the `audits` row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dataverse.sandbox.dataverse.audit import AuditEntry
from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.formatting import (
    ASSOCIATED_NAVIGATION,
    FORMATTED,
    LOOKUP_LOGICAL_NAME,
    Formatter,
    Preferences,
)
from dataverse.sandbox.dataverse.model import Table

CAP = 5000
_LOOKUP_ANNOTATIONS = Preferences(annotations=(FORMATTED, ASSOCIATED_NAVIGATION, LOOKUP_LOGICAL_NAME))


def attribute_audit_detail(ctx: RequestContext, table: Table, entry: AuditEntry, *,
                           only: str | None = None) -> dict[str, Any]:
    """The AttributeAuditDetail of `entry` (restricted to the column `only` when given)."""
    lookups = dataclasses.replace(ctx.formatter, preferences=_LOOKUP_ANNOTATIONS)
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.AttributeAuditDetail",
        "InvalidNewValueAttributes": [],
        "LocLabelLanguageCode": 0,
        "DeletedAttributes": {"Count": 0, "Keys": [], "Values": []},
        "OldValue": _entity(ctx.formatter, lookups, table, entry.old, only),
        "NewValue": _entity(ctx.formatter, lookups, table, entry.new, only),
    }


def _entity(formatter: Formatter, lookups: Formatter, table: Table, values: dict[str, Any],
            only: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.type": f"#Microsoft.Dynamics.CRM.{table.logical_name}"}
    for name, value in values.items():
        column = table.columns.get(name)
        if column is None or (only is not None and name != only):
            continue
        if column.is_lookup:
            lookups.cell(out, f"_{name}_value", column, value, table=table)
            continue
        capped = value[:CAP - 1] + "…" if isinstance(value, str) and len(value) > CAP else value
        formatter.cell(out, name, column, capped, table=table)
    return out
