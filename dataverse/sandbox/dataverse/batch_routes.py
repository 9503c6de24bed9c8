"""`POST /api/data/v9.2/$batch`: several requests in one multipart/mixed body, each run through the same dispatcher
as a lone request (so every rule and every write path is the one they would meet alone).

- Up to 1,000 operations (change set members count); a body whose last line lacks CRLF is 400 0x80048d19.
- A change set (a `multipart/mixed` part; no GET inside) is atomic: its operations run in order, `$<n>` refers to the
  record created by Content-ID n earlier in the same set (as a URL, `$1/primarycontactid/$ref`, or an
  `@odata.bind`/`@odata.id` value); a later or unknown Content-ID refuses the whole batch before anything runs (400
  "Content-ID Reference: '$n' does not exist in the batch context."); when one operation fails every write of the
  set is rolled back and the set answers with one `application/http` error response (OData 4.0 11.7.4) carrying the
  failing operation's Content-ID.
- Without `Prefer: odata.continue-on-error` processing stops at the first failure and the batch answers 400; with
  it every request runs and the batch answers 200.
- The answer is multipart/mixed with a new `batchresponse_<guid>` boundary; a change set answers as a
  `changesetresponse_<guid>` part whose parts echo the Content-IDs. A create answers 204 with Location and
  OData-EntityId; a GET 200 with `application/json; odata.metadata=minimal; odata.streaming=true`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from dataverse.sandbox.dataverse.batch_multipart import (
    InnerRequest,
    InnerResponse,
    boundary_of,
    multipart,
    parse_inner_request,
    payload_error,
    response_part,
    split_parts,
)
from dataverse.sandbox.dataverse.context import RequestContext, build_context, error_response
from dataverse.sandbox.dataverse.model import SandboxError
from dataverse.sandbox.dataverse.transactions import transaction

Dispatch = Callable[[RequestContext, str, str], Awaitable[Response]]
MAX_OPERATIONS = 1000
_HEADER_NAMES = {"content-type": "Content-Type", "odata-entityid": "OData-EntityId", "etag": "ETag",
                 "preference-applied": "Preference-Applied", "location": "Location"}
_REFERENCE = re.compile(r"\$(\w+)")  # a Content-ID reference: $1


@dataclass
class ChangeSet:
    requests: list[InnerRequest]


class _RolledBack(Exception):
    """Raised inside a change set's transaction when one of its operations failed."""


def _parse(body: bytes, content_type: str) -> list[InnerRequest | ChangeSet]:
    boundary = boundary_of(content_type)
    if boundary is None:
        raise SandboxError(400, "0x80048d19", "The $batch request must have 'Content-Type: multipart/mixed; "
                                              "boundary=batch_<id>'.")
    if not body.endswith(b"\r\n"):
        raise payload_error("Stream was not readable.")
    items: list[InnerRequest | ChangeSet] = []
    for part in split_parts(body, boundary):
        inner_boundary = boundary_of(part.headers.get("content-type", ""))
        if inner_boundary is None:
            items.append(parse_inner_request(part))
            continue
        requests = [parse_inner_request(inner) for inner in split_parts(part.body + b"\r\n", inner_boundary)]
        for request in requests:
            if request.method == "GET":
                raise payload_error("A GET request cannot be part of a change set.")
        _check_references(requests)
        items.append(ChangeSet(requests))
    count = sum(len(item.requests) if isinstance(item, ChangeSet) else 1 for item in items)
    if count > MAX_OPERATIONS:
        raise SandboxError(400, "0x80048d19", f"The number of operations in the batch ({count}) exceeds the maximum "
                                              f"of {MAX_OPERATIONS}.")
    return items


def _check_references(requests: list[InnerRequest]) -> None:
    """Every `$<n>` in a change set's URLs and bodies must name an earlier request of the set, or the batch as a
    whole is refused before anything runs (the OData batch reader resolves them while reading)."""
    declared: set[str] = set()
    for request in requests:
        references = [request.url] if request.url.startswith("$") else []
        references += re.findall(r'@odata\.(?:bind|id)"\s*:\s*"(\$\w+)"', request.body.decode("utf-8", "replace"))
        for reference in references:
            match = _REFERENCE.match(reference)
            if match and match.group(1) not in declared:
                raise SandboxError(400, "0x80048d19", f"Content-ID Reference: '{match.group(0)}' does not exist in "
                                                      "the batch context.")
        if request.content_id is not None:
            declared.add(request.content_id)


class _Runner:
    def __init__(self, ctx: RequestContext, dispatch: Dispatch):
        self.ctx = ctx
        self.dispatch = dispatch
        self.api_path = urlsplit(ctx.api_url).path

    def _target(self, url: str, created: dict[str, str]) -> tuple[str, str]:
        """(path under the API root, query string) of an inner request URL, resolving a leading `$<n>`."""
        reference = _REFERENCE.match(url)
        if reference is not None:
            url = self._resolve(reference.group(0), created) + url[reference.end():]
        parsed = urlsplit(url)
        path = parsed.path
        if parsed.scheme and not url.startswith(self.ctx.api_url + "/"):
            raise SandboxError(400, "0x80048d19", f"The URL '{url}' of a batch request is not under the service "
                                                  f"root {self.ctx.api_url}.")
        if path.startswith(self.api_path + "/"):
            path = path[len(self.api_path) + 1:]
        elif path.startswith("/"):
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{path}'.")
        if path.strip("/") == "$batch":
            raise payload_error("A batch cannot contain another batch.")
        return path, parsed.query

    @staticmethod
    def _resolve(reference: str, created: dict[str, str]) -> str:
        if reference[1:] not in created:
            raise SandboxError(400, "", f"Content-ID Reference: '{reference}' does not exist in the batch context.")
        return created[reference[1:]]

    def _body(self, request: InnerRequest, created: dict[str, str]) -> bytes:
        """The JSON body with `$<n>` bind and `@odata.id` values replaced by the created records' URLs."""
        if not request.body.strip() or (not created and b"$" not in request.body):
            return request.body
        try:
            body = json.loads(request.body)
        except ValueError:
            return request.body
        if isinstance(body, dict):
            for key, value in body.items():
                if (key.endswith("@odata.bind") or key == "@odata.id") and isinstance(value, str) \
                        and _REFERENCE.fullmatch(value):
                    body[key] = self._resolve(value, created)
        return json.dumps(body).encode("utf-8")

    async def run(self, request: InnerRequest, created: dict[str, str]) -> InnerResponse:
        """One inner request through the dispatcher, its SandboxError turned into the error response."""
        try:
            path, query = self._target(request.url, created)
            inner = self._inner_context(request, path, query, self._body(request, created))
            response = await self.dispatch(inner, request.method, path)
        except SandboxError as error:
            response = error_response(error)
        headers = [(_HEADER_NAMES.get(name.lower(), name), value) for name, value in response.headers.items()
                   if name.lower() not in ("content-length", "odata-version")]
        headers.insert(0, ("OData-Version", "4.0"))
        if response.status_code >= 400:
            headers.insert(1, ("REQ_ID", str(uuid.uuid4())))
        entity_id = response.headers.get("odata-entityid")
        if entity_id:
            headers.append(("Location", entity_id))
            if request.content_id is not None:
                created[request.content_id] = entity_id
        if response.status_code == 200 and response.headers.get("content-type", "").startswith("application/json"):
            headers = [(name, value + "; odata.streaming=true" if name.lower() == "content-type" else value)
                       for name, value in headers]
        return InnerResponse(response.status_code, headers, bytes(response.body))

    def _inner_context(self, request: InnerRequest, path: str, query: str, body: bytes) -> RequestContext:
        outer = self.ctx.request.scope
        scope: dict[str, Any] = {
            "type": "http", "http_version": "1.1", "method": request.method, "scheme": outer.get("scheme", "http"),
            "server": outer.get("server"), "root_path": "", "path": f"{self.api_path}/{path}",
            "raw_path": f"{self.api_path}/{path}".encode(), "query_string": query.encode("latin-1"),
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers],
        }
        host = self.ctx.request.headers.get("host")
        if host:
            scope["headers"].append((b"host", host.encode("latin-1")))

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        return build_context(Request(scope, receive), self.ctx.org, self.ctx.dataset, self.ctx.base_url)


async def run_batch(ctx: RequestContext, dispatch: Dispatch) -> Response:
    """Run the batch in `ctx.request` and answer with the multipart/mixed batch response."""
    items = _parse(await ctx.request.body(), ctx.request.headers.get("content-type", ""))
    continue_on_error = any("odata.continue-on-error" in value.lower()
                            for value in ctx.request.headers.getlist("prefer"))
    runner = _Runner(ctx, dispatch)
    parts: list[bytes] = []
    failed = False
    for item in items:
        if isinstance(item, ChangeSet):
            part, ok = await _run_change_set(runner, item)
        else:
            response = await runner.run(item, {})
            part, ok = response_part(response), response.status < 400
        parts.append(part)
        if not ok:
            failed = True
            if not continue_on_error:
                break
    boundary = f"batchresponse_{uuid.uuid4()}"
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    if continue_on_error:
        headers["Preference-Applied"] = "odata.continue-on-error"
    return Response(multipart(parts, boundary), status_code=400 if failed and not continue_on_error else 200,
                    headers=headers)


async def _run_change_set(runner: _Runner, change_set: ChangeSet) -> tuple[bytes, bool]:
    """All of the change set or none of it: its multipart response part, or the failing operation's error part."""
    created: dict[str, str] = {}
    answered: list[tuple[InnerRequest, InnerResponse]] = []
    failure: tuple[InnerRequest, InnerResponse] | None = None
    try:
        with transaction(runner.ctx.org):
            for request in change_set.requests:
                response = await runner.run(request, created)
                if response.status >= 400:
                    failure = (request, response)
                    raise _RolledBack
                answered.append((request, response))
    except _RolledBack:
        assert failure is not None
        request, response = failure
        return response_part(response, request.content_id), False
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = [response_part(response, request.content_id) for request, response in answered]
    head = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n".encode("latin-1")
    return head + multipart(inner, boundary), True
