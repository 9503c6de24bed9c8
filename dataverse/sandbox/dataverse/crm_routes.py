"""Where the core dispatcher (app._dispatch) hands over the requests of the timeline, views and audit features:

- messages a table does not support (table_messages), before any route runs;
- `GET <set>?savedQuery=|userQuery=` and the same on a related collection (view_routes);
- `GET audits` and `GET audits(<id>)` (audit_routes);
- `PUT <activities>(<id>)/<activity>_activity_parties` (activity_parties).
Each function returns None for a request that is not theirs, so the core routes answer it as before. The audit
functions (`RetrieveRecordChangeHistory(...)`, `RetrieveAttributeChangeHistory(...)`, `audits(<id>)/
Microsoft.Dynamics.CRM.RetrieveAuditDetails`) are operations of the catalog (operation_catalog), as WhoAmI is.
"""

from __future__ import annotations

from starlette.responses import Response

from dataverse.sandbox.dataverse import audit_routes, view_routes, writes
from dataverse.sandbox.dataverse.activity_parties import check_parties, parties_navigation
from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import Table
from dataverse.sandbox.dataverse.table_messages import require_supported


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
    if method == "GET" and view_routes.names_a_view(ctx):
        return view_routes.run_view_on_related(ctx, table, key, rest[0], path=path.rstrip("/"))
    if method == "PUT" and rest[0] == parties_navigation(table):
        from dataverse.sandbox.dataverse.record_routes import resolve_key

        return await _put_activity_parties(ctx, table, resolve_key(ctx, table, key))
    return None


async def _put_activity_parties(ctx: RequestContext, table: Table, row_id: str) -> Response:
    """`PUT <activities>(<id>)/<activity>_activity_parties` with `{"value": [...]}`: replace the parties (204)."""
    navigation = parties_navigation(table)
    activity = ctx.dataset.get_or_404(table, row_id)
    ctx.dataset.require_write(table, activity)
    body = await ctx.json_body()
    parties = check_parties(ctx.dataset, body.get("value"), str(navigation))
    writes.replace_parties(ctx.dataset, table, activity, parties)
    return Response(status_code=204)
