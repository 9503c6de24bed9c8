"""A record's change history: the RetrieveRecordChangeHistory request, its AuditDetailCollection as typed changes,
and the join to the `audits` table that says who made each change and when.

The function (PD `auditing/retrieve-audit-data.md`) is called with parameter aliases:
`GET RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)?@target={'@odata.id':'accounts(<id>)'}
&@paginginfo={"PageNumber":1,"Count":20,"ReturnTotalRecordCount":true}`. Its items are newest first and carry only
the changed columns' old and new values; the Web API leaves out `AuditRecord`, so they do not say who or when.
`audits` has that: the record's audit rows, `$filter=_objectid_value eq <id>&$orderby=createdon desc`, are the same
changes in the same order, one row per item. The join is by position and is only made when it can be trusted: the
audit rows must number exactly TotalRecordCount, and a Create row must pair with an item without old values and a
Delete row with one without new values. Otherwise, or when the caller may not read `audits` (prvReadAuditSummary),
the changes come back without who and when (`ChangeHistoryPage.attributed` is False).
`HistoryVerbs.get_record_change_history` is the client's verb.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .auditing import get_auditing
from .core import ClientCore
from .errors import PermissionDeniedError
from .models import ChangeHistoryPage, ColumnChange, RecordChange
from .odata import collection_path, format_guid
from .wire import ALL_ANNOTATIONS, positive_int

GetJson = Callable[[str, Mapping[str, str], Sequence[str]], Awaitable[Any]]

HISTORY_PATH = "RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
MAX_COUNT = 5000
_CREATE, _DELETE = 1, 3


def history_params(entity_set: str, record_id: str, *, page: int, page_size: int,
                   paging_cookie: str | None) -> dict[str, str]:
    """The @target and @paginginfo aliases for one page of a record's history."""
    target = f"{{'@odata.id':'{collection_path(entity_set)}({format_guid(record_id)})'}}"
    paging: dict[str, Any] = {"PageNumber": positive_int(page, "page"),
                              "Count": positive_int(page_size, "page_size", maximum=MAX_COUNT),
                              "ReturnTotalRecordCount": True}
    if paging_cookie is not None:
        if not isinstance(paging_cookie, str) or not paging_cookie.strip():
            raise ValueError("paging_cookie must be the PagingCookie a previous page returned")
        paging["PagingCookie"] = paging_cookie
    return {"@target": target, "@paginginfo": json.dumps(paging, separators=(",", ":"))}


def _split_annotated(values: Any) -> dict[str, tuple[Any, dict[str, Any]]]:
    """OldValue/NewValue as {column logical name: (raw value, {annotation name: value})}; `_x_value` lookups are
    reported under `x`."""
    found: dict[str, tuple[Any, dict[str, Any]]] = {}
    if not isinstance(values, dict):
        return found
    for key, value in values.items():
        if key.startswith("@"):
            continue
        name, _, annotation = key.partition("@")
        column = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
        raw, annotations = found.get(column, (None, {}))
        if annotation:
            annotations[annotation] = value
        else:
            raw = value
        found[column] = (raw, annotations)
    return found


def _table_of(values: Any) -> str | None:
    odata_type = values.get("@odata.type") if isinstance(values, dict) else None
    return str(odata_type).removeprefix("#Microsoft.Dynamics.CRM.") if odata_type else None


def parse_detail(item: Any) -> RecordChange:
    """One AuditDetails item as a RecordChange (who and when still unknown)."""
    if not isinstance(item, dict):
        return RecordChange(detail_type="", table=None, changes=[])
    old, new = _split_annotated(item.get("OldValue")), _split_annotated(item.get("NewValue"))
    changes = []
    for column in [*old, *(name for name in new if name not in old)]:
        old_value, old_annotations = old.get(column, (None, {}))
        new_value, new_annotations = new.get(column, (None, {}))
        changes.append(ColumnChange(column, old_value, new_value, old_annotations, new_annotations))
    return RecordChange(
        detail_type=str(item.get("@odata.type", "")).removeprefix("#Microsoft.Dynamics.CRM."),
        table=_table_of(item.get("NewValue")) or _table_of(item.get("OldValue")),
        changes=changes,
    )


def parse_history(body: Any, *, page: int) -> ChangeHistoryPage:
    collection = body.get("AuditDetailCollection") if isinstance(body, dict) else None
    if not isinstance(collection, dict):
        collection = {}
    total = collection.get("TotalRecordCount")
    details = collection.get("AuditDetails") or []
    return ChangeHistoryPage(
        changes=[parse_detail(item) for item in details],
        more_records=collection.get("MoreRecords") is True,
        paging_cookie=collection.get("PagingCookie") or None,
        total_count=total if isinstance(total, int) and total >= 0 else None,
        page=page,
    )


def _moment(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def attribute(history: ChangeHistoryPage, audits: Any, *, offset: int) -> ChangeHistoryPage:
    """The page with who and when from the record's audit rows (newest first), when the pairing holds."""
    rows = audits.get("value") if isinstance(audits, dict) else None
    count = audits.get("@odata.count") if isinstance(audits, dict) else None
    if not isinstance(rows, list) or history.total_count is None or count != history.total_count:
        return history
    paired = rows[offset:offset + len(history.changes)]
    if len(paired) != len(history.changes):
        return history
    attributed = []
    for change, row in zip(history.changes, paired, strict=True):
        operation = row.get("operation")
        if (operation == _CREATE and any(c.old_value is not None for c in change.changes)) or (
                operation == _DELETE and any(c.new_value is not None for c in change.changes)):
            return history
        attributed.append(change.attributed(
            audit_id=row.get("auditid"), action=row.get("action"), action_name=row.get(f"action@{FORMATTED}"),
            operation=operation, changed_by_id=row.get("_userid_value"),
            changed_by_name=row.get(f"_userid_value@{FORMATTED}"), changed_on=_moment(row.get("createdon"))))
    return ChangeHistoryPage(changes=attributed, more_records=history.more_records,
                             paging_cookie=history.paging_cookie, total_count=history.total_count,
                             page=history.page, attributed=True)


async def get_record_change_history(get_json: GetJson, entity_set: str, record_id: str, *, page: int,
                                    page_size: int, paging_cookie: str | None) -> ChangeHistoryPage:
    """One page of the record's change history, each change with who and when where the join holds."""
    params = history_params(entity_set, record_id, page=page, page_size=page_size, paging_cookie=paging_cookie)
    history = parse_history(await get_json(HISTORY_PATH, params, [ALL_ANNOTATIONS]), page=page)
    offset = (page - 1) * page_size
    if not history.changes or offset + len(history.changes) > MAX_COUNT:
        return history
    audit_query = {
        "$select": "auditid,action,operation,createdon,_userid_value",
        "$filter": f"_objectid_value eq {format_guid(record_id)}",
        "$orderby": "createdon desc",
        "$top": str(offset + len(history.changes)),
        "$count": "true",
    }
    try:
        audits = await get_json("audits", audit_query, [ALL_ANNOTATIONS])
    except PermissionDeniedError:  # may read history but not the audit summary: changes without who and when
        return history
    return attribute(history, audits, offset=offset)


class HistoryVerbs(ClientCore):
    """Reading a record's change history (reads: retried like them)."""

    async def get_record_change_history(
        self, entity_set: str, record_id: str, *, page: int = 1, page_size: int = 50, paging_cookie: str | None = None
    ) -> ChangeHistoryPage:
        """One page of the record's audited changes, newest first: each change's columns with old and new values
        (raw, with their annotations) and, joined from the audit log, its action, who made it and when.
        PermissionDeniedError without the View Audit History privilege (prvReadRecordAuditHistory)."""
        return await get_record_change_history(
            self._get_json, entity_set, record_id, page=page, page_size=page_size, paging_cookie=paging_cookie
        )

    async def get_auditing(self, logical_name: str) -> tuple[bool, bool]:
        """Whether auditing is on (for the environment, for the table): with either off nothing is recorded."""
        return await get_auditing(self._get_json, logical_name)
