"""Requests addressed below one record, `{entityset}({key})/<segment>[/...]`: a column (GET, PUT, DELETE; see
property_routes), a navigation property (GET, and `/$count` on a collection; see navigation_routes). Anything else is
404 "Resource not found for the segment '<segment>'." (0x8006088a), as SupportArticles-docs web-api-client-errors.md
shows for an unknown resource name."""

from __future__ import annotations

from starlette.responses import Response

from dataverse.sandbox.dataverse import navigation_routes, property_routes, record_routes
from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import SandboxError, Table


def _not_found(segment: str) -> SandboxError:
    return SandboxError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


async def dispatch(ctx: RequestContext, method: str, table: Table, key: str, rest: list[str]) -> Response:
    if method == "GET":
        response = await navigation_routes.get_navigation(ctx, table, key, rest)
        if response is not None:
            return response
        if len(rest) == 1:
            return await record_routes.get_record_property(ctx, table, key, rest[0])
    if len(rest) == 1 and rest[0] in table.columns:
        if method == "PUT":
            return await property_routes.put_property(ctx, table, key, rest[0])
        if method == "DELETE":
            return await property_routes.delete_property(ctx, table, key, rest[0])
    raise _not_found(rest[-1] if len(rest) > 1 else rest[0])
