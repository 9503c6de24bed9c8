"""The sandbox Dataverse as a Starlette app: `/api/data/v9.2/...` (Web API, bearer-authenticated, with injected
faults and request counting) and `/sandbox-control/...` (fault plan and stats for tests and benchmarks; no auth, never
deployed). Every /api response carries `OData-Version: 4.0` and an `x-ms-service-request-id`.

Mount it at the environment URL's path, e.g. `Mount("/sandbox/dataverse", app=create_sandbox_dataverse_app(...))`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dataverse.sandbox.dataverse import (
    action_routes,
    batch_routes,
    crm_routes,
    csdl,
    metadata_routes,
    navigation_routes,
    path_routes,
    record_routes,
    ref_routes,
    write_routes,
)
from dataverse.sandbox.dataverse.context import (
    API_PREFIX,
    RequestContext,
    build_context,
    error_response,
    json_response,
)
from dataverse.sandbox.dataverse.identity_routes import sandbox_token_verifier
from dataverse.sandbox.dataverse.model import SandboxError, Table, Unauthenticated
from dataverse.sandbox.dataverse.operation_catalog import bound_operation, unbound_operation
from dataverse.sandbox.dataverse.operations import NAMESPACE
from dataverse.sandbox.dataverse.search_routes import create_search_routes
from dataverse.sandbox.dataverse.security import SecuredDataset, caller_for
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.users import SANDBOX_TENANT_ID

__all__ = ["create_sandbox_dataverse_app", "sandbox_token_verifier"]

logger = logging.getLogger(__name__)
_SEGMENT = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$", re.S)
NOT_MEMBER = "0x80072560"


def _not_found_segment(segment: str) -> SandboxError:
    return SandboxError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def _split_path(path: str) -> list[str]:
    """Path segments, splitting on '/' outside parentheses and quotes."""
    segments, depth, quoted, current = [], 0, False, ""
    for char in path:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "/" and depth == 0 and not quoted:
            segments.append(current)
            current = ""
        else:
            current += char
    segments.append(current)
    return [segment for segment in segments if segment]


def create_sandbox_dataverse_app(*, organization: SandboxOrganization, base_url: str,
                                 verify_token: Callable[[str], str]) -> Starlette:
    """The sandbox Dataverse Web API for `organization`, answering as the environment at `base_url`."""
    org = organization
    base_url = base_url.rstrip("/")
    unauthorized_headers = {
        "WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline.com/"
                            f"{SANDBOX_TENANT_ID}/oauth2/authorize, resource_id={base_url}/",
    }

    def authenticate(request: Request) -> SecuredDataset:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated()
        try:
            object_id = verify_token(token.strip())
        except Exception as error:  # any verification failure is a 401, as Dataverse answers
            logger.info("sandbox dataverse rejected a token: %s", error)
            raise Unauthenticated() from error
        try:
            user = org.systemuser_for_object_id(object_id)
        except KeyError:
            raise SandboxError(403, NOT_MEMBER, "The user is not a member of the organization.") from None
        return SecuredDataset(org, caller_for(org, str(user["systemuserid"])))

    async def api(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        common = {"OData-Version": "4.0", "x-ms-service-request-id": request_id, "REQ_ID": request_id}
        path = request.path_params["rest"]
        org.stats.record(request.method, f"{API_PREFIX}/{path}")
        try:
            fault = await org.faults.apply(request.method)
            if fault is not None:
                response = json_response(fault.body, status=fault.status, headers=fault.headers)
            else:
                dataset = authenticate(request)
                ctx = build_context(request, org, dataset, base_url)
                with org.audit.acting_as(dataset.caller.user_id):  # writes in this request are audited as the caller
                    response = await _dispatch(ctx, request.method, path)
        except Unauthenticated:
            response = Response(status_code=401, headers=unauthorized_headers)
        except SandboxError as error:
            response = error_response(error)
        except Exception:  # an unexpected sandbox bug must still look like a Dataverse error
            logger.exception("sandbox dataverse failed")
            response = error_response(SandboxError(500, "0x80040216", "An unexpected error occurred."))
        response.headers.update(common)
        return response

    async def faults_control(request: Request) -> Response:
        if request.method == "DELETE":
            org.faults.reset()
        elif request.method == "POST":
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise TypeError("the body must be a JSON object")
                if body.pop("reset", False):
                    org.faults.reset()
                unknown = set(body) - {"latency_ms", "throttle", "server_error", "hang"}
                if unknown:
                    raise ValueError(f"unknown keys: {sorted(unknown)}")
                org.faults.update(**body)
            except (ValueError, TypeError, AttributeError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(org.faults.describe())

    async def stats_control(request: Request) -> Response:
        if request.method == "DELETE":
            org.stats.reset()
        return JSONResponse(org.stats.describe())

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[
        Route(API_PREFIX + "/{rest:path}", api, methods=methods),
        Route("/sandbox-control/faults", faults_control, methods=["GET", "POST", "DELETE"]),
        Route("/sandbox-control/stats", stats_control, methods=["GET", "DELETE"]),
        *create_search_routes(org=org, authenticate=authenticate, unauthorized_headers=unauthorized_headers),
    ])


async def _dispatch(ctx: RequestContext, method: str, path: str) -> Response:
    segments = _split_path(path)
    if not segments:
        raise _not_found_segment("")
    if segments == ["$metadata"]:
        if method != "GET":
            raise action_routes.no_http_resource(ctx)
        return csdl.get_metadata_document(ctx)
    if segments == ["$batch"]:
        if method != "POST":
            raise action_routes.no_http_resource(ctx)
        return await batch_routes.run_batch(ctx, _dispatch)
    match = _SEGMENT.match(segments[0])
    if match is None:
        raise _not_found_segment(segments[0])
    name, key = match.group(1), match.group(2)
    operation = unbound_operation(name)  # functions answer 404 to any verb but GET, actions to any but POST
    if operation is not None and len(segments) == 1:
        return await action_routes.invoke(ctx, method, operation, key)
    if name == "EntityDefinitions":
        if method != "GET":
            raise SandboxError(405, "0x80060888", "The sandbox serves metadata read-only.")
        return metadata_routes.get_metadata(ctx, key, segments[1:])
    try:
        table = ctx.dataset.table_by_entity_set(name)
    except KeyError:
        raise _not_found_segment(name) from None
    rest = segments[1:]
    if rest and rest[0].startswith(f"{NAMESPACE}."):
        return await _bound_operation(ctx, method, table, key, rest)
    if rest and rest[-1] == "$ref" and method != "GET" and key is not None:
        return await ref_routes.handle_ref(ctx, method, table, key, rest)
    if rest and len(rest) == 1 and bound_operation(rest[0].split("(", 1)[0], table.logical_name,
                                                    collection=key is None) is not None:
        raise action_routes.unresolved_parameters()
    feature_response = await crm_routes.route_table(ctx, method, table, key, rest, path)
    if feature_response is not None:
        return feature_response
    if key is None:
        if rest == ["$count"] and method == "GET":
            return await navigation_routes.count_entity_set(ctx, table)
        if rest:
            raise _not_found_segment(rest[0])
        if method == "GET":
            return await record_routes.list_records(ctx, table)
        if method == "POST":
            return await write_routes.create_record(ctx, table)
        raise SandboxError(405, "0x80060888", f"The HTTP method {method} is not allowed on an entity set.")
    if rest:
        return await path_routes.dispatch(ctx, method, table, key, rest)
    if method == "GET":
        return await record_routes.get_record(ctx, table, key)
    if method in ("PATCH", "PUT"):
        return await write_routes.update_record(ctx, table, key)
    if method == "DELETE":
        return await write_routes.delete_record(ctx, table, key)
    raise SandboxError(405, "0x80060888", f"The HTTP method {method} is not allowed on a single record.")


async def _bound_operation(ctx: RequestContext, method: str, table: Table, key: str | None,
                           rest: list[str]) -> Response:
    """`{set}({id})/Microsoft.Dynamics.CRM.<Name>` or `{set}/Microsoft.Dynamics.CRM.<Name>`."""
    if len(rest) != 1:
        raise _not_found_segment(rest[1])
    match = _SEGMENT.match(rest[0])
    name = match.group(1).removeprefix(f"{NAMESPACE}.") if match else ""
    operation = bound_operation(name, table.logical_name, collection=key is None)
    if match is None or operation is None:
        raise _not_found_segment(rest[0])
    row = None
    if key is not None:
        row = ctx.dataset.get_or_404(table, record_routes.resolve_key(ctx, table, key))
    return await action_routes.invoke(ctx, method, operation, match.group(2), table=table, row=row)
