"""Reading the audit log over HTTP, as PD `auditing/retrieve-audit-data.md` shows it (crm-work section 9):

- `GET RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)?@target={'@odata.id':'accounts(<id>)'}
  &@paginginfo={"PageNumber":1,"Count":2,"ReturnTotalRecordCount":true}` (needs prvReadRecordAuditHistory) ->
  `{"@odata.context": "...#Microsoft.Dynamics.CRM.RetrieveRecordChangeHistoryResponse", "AuditDetailCollection":
  {"MoreRecords", "PagingCookie", "TotalRecordCount", "AuditDetails": [AttributeAuditDetail, ...]}}`, newest first;
- `GET RetrieveAttributeChangeHistory(Target=@target,AttributeLogicalName=@a,PagingInfo=@p)`: the same for one column;
- `GET audits(<id>)/Microsoft.Dynamics.CRM.RetrieveAuditDetails` -> `{"AuditDetail": {...}}`;
- `GET audits?...` (needs prvReadAuditSummary): the ordinary query, with `@Microsoft.Dynamics.CRM.totalrecordcount`
  -1 and `totalrecordcountlimitexceeded` false before `value`, lookups without associatednavigationproperty, and
  `$expand` of userid/callinguserid answering null, as documented.
The three functions are served from the operation catalog (`OPERATIONS` below), which parses their parameters and
declares them in the CSDL `$metadata`; any verb but GET answers 404. Parameters may be given as @aliases (as
documented) or inline. Target is `{'@odata.id':'<set>(<id>)'}` (relative or
absolute) or `{"@odata.type":"Microsoft.Dynamics.CRM.<table>","<primary id>":"<id>"}`. PagingInfo's PagingCookie is
the `PagingCookie` of the page before (opaque: `<cookie page="N"><auditid last=.. first=.. /></cookie>` here).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

from dataverse.sandbox.dataverse.audit_details import attribute_audit_detail
from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.formatting import ASSOCIATED_NAVIGATION, FORMATTED
from dataverse.sandbox.dataverse.model import SandboxError, Table
from dataverse.sandbox.dataverse.operations import ComplexResult, Operation, OperationCall, OperationResult, Parameter
from dataverse.sandbox.dataverse.privileges import READ_AUDIT_SUMMARY, READ_RECORD_AUDIT_HISTORY
from dataverse.sandbox.dataverse.security import not_found

BAD_ARGUMENT = "0x80040203"
MAX_COUNT = 5000
_REFERENCE = re.compile(r"(?:.*/)?([A-Za-z_]\w*)\(\{?([0-9a-fA-F-]{36})\}?\)$")
_COOKIE_LAST = re.compile(r'<auditid\s+last="\{?([0-9a-fA-F-]{36})\}?"')


def _json_object(value: Any, name: str) -> dict[str, Any]:
    """A parameter that must be an object (already parsed by action_routes; a JSON string is parsed here)."""
    if isinstance(value, str):
        for candidate in (value, value.replace("'", '"')):
            try:
                value = json.loads(candidate)
            except ValueError:
                continue
            break
    if isinstance(value, dict):
        return value
    raise SandboxError(400, BAD_ARGUMENT, f"The value of the parameter '{name}' is not a valid JSON object.")


def _target(ctx: RequestContext, value: Any) -> tuple[Table, str]:
    target = _json_object(value, "Target")
    reference = target.get("@odata.id")
    if isinstance(reference, str):
        match = _REFERENCE.match(reference.strip())
        if match is None:
            raise SandboxError(400, BAD_ARGUMENT, f"The Target '{reference}' is not a record reference.")
        try:
            table = ctx.dataset.table_by_entity_set(match.group(1))
        except KeyError:
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{match.group(1)}'.") from None
        row_id = match.group(2).lower()
    else:
        type_name = str(target.get("@odata.type", "")).lstrip("#").removeprefix("Microsoft.Dynamics.CRM.")
        try:
            table = ctx.dataset.table(type_name)
        except KeyError:
            raise SandboxError(400, BAD_ARGUMENT, "The Target must be {'@odata.id':'<entityset>(<id>)'} or carry "
                                                  "@odata.type and the record's id.") from None
        row_id = str(target.get(table.primary_id, "")).strip("{}").lower()
    if table.logical_name == "activitypointer":  # history is kept under the activity's own table
        pointer = ctx.org.get_row("activitypointer", row_id)
        if pointer is not None:
            table = ctx.org.table(str(pointer["activitytypecode"]))
    return table, row_id


def _paging(value: Any) -> dict[str, Any]:
    paging = _json_object(value, "PagingInfo") if value is not None else {}
    for name in ("PageNumber", "Count"):
        value = paging.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise SandboxError(400, BAD_ARGUMENT, f"PagingInfo.{name} must be a whole number, not {value!r}.")
    return paging


def _history(ctx: RequestContext, function: str, table: Table, row_id: str, paging_info: Any,
             attribute: str | None = None) -> ComplexResult:
    ctx.org.privileges.require(ctx.dataset.caller.user_id, READ_RECORD_AUDIT_HISTORY)
    if ctx.org.get_row(table.logical_name, row_id) is not None:
        ctx.dataset.get_or_404(table, row_id)  # an existing record must be one the caller can read
    paging = _paging(paging_info)
    entries = ctx.org.audit.history(table.logical_name, row_id)
    if attribute is not None:
        entries = [entry for entry in entries if attribute in entry.old or attribute in entry.new]
    count = min(paging.get("Count") or MAX_COUNT, MAX_COUNT)
    page = paging.get("PageNumber") or 1
    start = (page - 1) * count
    cookie_match = _COOKIE_LAST.search(str(paging.get("PagingCookie") or ""))
    if cookie_match and page > 1:
        ids = [entry.audit_id for entry in entries]
        last = cookie_match.group(1).lower()
        start = ids.index(last) + 1 if last in ids else start
    selected = entries[start:start + count]
    cookie = None
    if selected:
        cookie = (f'<cookie page="{page}"><auditid last="{{{selected[-1].audit_id.upper()}}}" '
                  f'first="{{{selected[0].audit_id.upper()}}}" /></cookie>')
    collection = {
        "MoreRecords": start + count < len(entries),
        "PagingCookie": cookie,
        "TotalRecordCount": len(entries) if paging.get("ReturnTotalRecordCount") is True else -1,
        "AuditDetails": [attribute_audit_detail(ctx, table, entry, only=attribute) for entry in selected],
    }
    return ComplexResult(f"{function}Response", {"AuditDetailCollection": collection}, _applied(ctx))


def _applied(ctx: RequestContext) -> dict[str, str]:
    applied = ctx.preferences.applied(page_size_used=False)
    return {"Preference-Applied": applied} if applied else {}


async def retrieve_record_change_history(call: OperationCall) -> OperationResult:
    table, row_id = _target(call.ctx, call.parameters["Target"])
    return _history(call.ctx, "RetrieveRecordChangeHistory", table, row_id, call.parameters["PagingInfo"])


async def retrieve_attribute_change_history(call: OperationCall) -> OperationResult:
    table, row_id = _target(call.ctx, call.parameters["Target"])
    attribute = str(call.parameters["AttributeLogicalName"]).strip()
    if attribute not in table.columns:
        raise SandboxError(400, BAD_ARGUMENT, f"'{table.logical_name}' entity doesn't contain attribute with Name = "
                                              f"'{attribute}'.")
    return _history(call.ctx, "RetrieveAttributeChangeHistory", table, row_id, call.parameters["PagingInfo"],
                    attribute)


async def retrieve_audit_details(call: OperationCall) -> OperationResult:
    """Bound to an audit record (the dispatcher has read it, so the caller holds prvReadAuditSummary)."""
    ctx, row = call.ctx, call.row
    assert row is not None  # a function bound to a record always has its record
    audit_id = str(row["auditid"])
    entry = ctx.org.audit.entry(audit_id)
    if entry is None:
        raise not_found(ctx.org.table("audit"), audit_id)
    table = ctx.org.table(entry.object.table)
    return ComplexResult("RetrieveAuditDetailsResponse", {"AuditDetail": attribute_audit_detail(ctx, table, entry)},
                         _applied(ctx))


async def list_or_get_audits(ctx: RequestContext, table: Table, key: str | None) -> Response:
    """`GET audits` / `GET audits(<id>)` through the ordinary record routes, reshaped as Dataverse answers them."""
    from dataverse.sandbox.dataverse import record_routes

    ctx.org.privileges.require(ctx.dataset.caller.user_id, READ_AUDIT_SUMMARY)
    if key is not None:
        response = await record_routes.get_record(ctx, table, key)
        body = _reshape(ctx, json.loads(bytes(response.body)))
    else:
        response = await record_routes.list_records(ctx, table)
        raw = json.loads(bytes(response.body))
        body = {"@odata.context": raw.pop("@odata.context"), "@Microsoft.Dynamics.CRM.totalrecordcount": -1,
                "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded": False, **raw}
        body["value"] = [_reshape(ctx, row) for row in body.get("value", [])]
    headers = {name: value for name, value in response.headers.items()
               if name.lower() in ("etag", "preference-applied")}
    return json_response(body, status=response.status_code, headers=headers)


def _reshape(ctx: RequestContext, row: dict[str, Any]) -> dict[str, Any]:
    expanded = ctx.param("$expand") or ""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.endswith(f"@{ASSOCIATED_NAVIGATION}"):
            continue
        if key == "objecttypecode" and value in ctx.org.tables and ctx.preferences.wants(FORMATTED):
            out[f"objecttypecode@{FORMATTED}"] = ctx.org.tables[value].display_name  # e.g. "Contact"
        out[key] = value
    for navigation in ("userid", "callinguserid"):
        if navigation in out and re.search(rf"\b{navigation}\b", expanded):
            out[navigation] = None  # documented: these expands always answer null
    return out


_HISTORY_TYPES: dict[str, tuple[Parameter, ...]] = {
    "PagingInfo": (Parameter("PageNumber", "Edm.Int32", nullable=False),
                   Parameter("Count", "Edm.Int32", nullable=False), Parameter("PagingCookie", "Edm.String"),
                   Parameter("ReturnTotalRecordCount", "Edm.Boolean", nullable=False)),
    "AuditDetail": (Parameter("AuditRecord", "mscrm.crmbaseentity"),),
    "AttributeAuditDetail": (Parameter("OldValue", "mscrm.crmbaseentity"), Parameter("NewValue", "mscrm.crmbaseentity"),
                             Parameter("InvalidNewValueAttributes", "Collection(Edm.String)"),
                             Parameter("LocLabelLanguageCode", "Edm.Int32", nullable=False)),
    "AuditDetailCollection": (Parameter("MoreRecords", "Edm.Boolean", nullable=False),
                              Parameter("PagingCookie", "Edm.String"),
                              Parameter("TotalRecordCount", "Edm.Int32", nullable=False),
                              Parameter("AuditDetails", "Collection(mscrm.AuditDetail)")),
}


def _history_response_type(function: str) -> dict[str, tuple[Parameter, ...]]:
    return {**_HISTORY_TYPES, f"{function}Response": (
        Parameter("AuditDetailCollection", "mscrm.AuditDetailCollection"),)}


_TARGET = Parameter("Target", "mscrm.crmbaseentity", nullable=False)
_PAGING_INFO = Parameter("PagingInfo", "mscrm.PagingInfo")
OPERATIONS = (
    Operation("RetrieveRecordChangeHistory", "Function", retrieve_record_change_history, (_TARGET, _PAGING_INFO),
              returns="mscrm.RetrieveRecordChangeHistoryResponse",
              complex_types=_history_response_type("RetrieveRecordChangeHistory")),
    Operation("RetrieveAttributeChangeHistory", "Function", retrieve_attribute_change_history,
              (_TARGET, Parameter("AttributeLogicalName", "Edm.String", nullable=False), _PAGING_INFO),
              returns="mscrm.RetrieveAttributeChangeHistoryResponse",
              complex_types=_history_response_type("RetrieveAttributeChangeHistory")),
    Operation("RetrieveAuditDetails", "Function", retrieve_audit_details, returns="mscrm.RetrieveAuditDetailsResponse",
              bound_to="audit", complex_types={**_HISTORY_TYPES, "RetrieveAuditDetailsResponse": (
                  Parameter("AuditDetail", "mscrm.AuditDetail"),)}),
)
