"""Where the core dispatcher (app._dispatch) hands over the requests of the timeline, views and audit features:

- the audit functions `RetrieveRecordChangeHistory(...)` and `RetrieveAttributeChangeHistory(...)` (GET only; any
  other verb is Dataverse's 404 "No HTTP resource was found that matches the request URI");
- messages a table does not support (table_messages), before any route runs;
- `GET <set>?savedQuery=|userQuery=` and the same on a related collection (view_routes);
- `GET audits`, `GET audits(<id>)` and `GET audits(<id>)/Microsoft.Dynamics.CRM.RetrieveAuditDetails` (audit_routes);
- `PUT <activities>(<id>)/<activity>_activity_parties` (activity_parties).
Each function returns None for a request that is not theirs, so the core routes answer it as before.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from dataverse.sandbox.dataverse import audit_routes, view_routes
from dataverse.sandbox.dataverse.activity_parties import parties_navigation, put_activity_parties
from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import SandboxError, Table
from dataverse.sandbox.dataverse.table_messages import require_supported

FUNCTIONS: dict[str, Callable[[RequestContext, str | None], Response]] = {
    "RetrieveRecordChangeHistory": audit_routes.retrieve_record_change_history,
    "RetrieveAttributeChangeHistory": audit_routes.retrieve_attribute_change_history,
}
AUDIT_DETAILS = "Microsoft.Dynamics.CRM.RetrieveAuditDetails"


def route_function(ctx: RequestContext, method: str, name: str, key: str | None,
                   segments: list[str]) -> Response | None:
    """An unbound function of these features named by the first path segment, or None."""
    function = FUNCTIONS.get(name)
    if function is None:
        return None
    if method != "GET" or len(segments) != 1:
        url = f"{ctx.api_url}/{'/'.join(segments)}"
        raise SandboxError(404, "", f"No HTTP resource was found that matches the request URI '{url}'.")
    return function(ctx, key)


async def route_table(ctx: RequestContext, method: str, table: Table, key: str | None, rest: list[str],
                      path: str) -> Response | None:
    """A request on an entity set (or a record of it) that these features answer, or None."""
    if not rest:
        require_supported(table, method, has_key=key is not None)
        if method == "GET" and key is None and view_routes.names_a_view(ctx):
            return view_routes.run_view(ctx, table, path=table.entity_set)
        if method == "GET" and table.logical_name == "audit":
            return await audit_routes.list_or_get_audits(ctx, table, key)
        return None
    if key is None or len(rest) != 1:
        return None
    if method == "GET" and table.logical_name == "audit" and rest[0] == AUDIT_DETAILS:
        return audit_routes.retrieve_audit_details(ctx, key)
    if method == "GET" and view_routes.names_a_view(ctx):
        return view_routes.run_view_on_related(ctx, table, key, rest[0], path=path.rstrip("/"))
    if method == "PUT" and rest[0] == parties_navigation(table):
        from dataverse.sandbox.dataverse.record_routes import resolve_key

        return await put_activity_parties(ctx, table, resolve_key(ctx, table, key))
    return None
