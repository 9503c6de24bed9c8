"""`$batch`: `BatchVerbs.submit_batch` sends a batch built by `batch_request` (never retried) and reads the answer,
a multipart/mixed body (200, or 400 when processing stopped at a failure) with one part per top-level request or
change set, in order, into one `BatchOperationResult` per request.

A change set that succeeded answers as a `changesetresponse_<guid>` multipart part whose parts carry the
Content-IDs. A change set that failed answers in one of two shapes, both accepted: OData 4.0's single
`application/http` error response for the whole set (the failing request named by its Content-ID when the part has
one), or Dataverse's changeset multipart holding the failing request's error. Either way the failing request is
`failed` and the rest of its set `rolled_back`, with the set's error. Requests after a failure without
continue-on-error have no part: `not_run`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from .batch_request import BatchRequest, ChangeSet, PlannedOperation, PreparedBatch, build_batch
from .core import ClientCore
from .errors import DataverseError, error_from_response
from .wire import ENTITY_ID

Outcome = Literal["succeeded", "failed", "rolled_back", "not_run"]

_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.I)


@dataclass(frozen=True)
class BatchOperationResult:
    """What happened to one request. `outcome`: succeeded; failed (its own error); rolled_back (its change set
    failed, so it was not applied; `error` is the set's error); not_run (the batch stopped before it)."""

    request: BatchRequest
    outcome: Outcome
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: Any = None
    error: DataverseError | None = None
    content_id: str | None = None
    change_set: int | None = None  # 0-based index among the batch's change sets

    @property
    def record_id(self) -> str | None:
        """The id in OData-EntityId (a create's new record), else None."""
        match = ENTITY_ID.search(self.headers.get("odata-entityid", ""))
        return match.group(1).lower() if match else None


@dataclass(frozen=True)
class BatchResult:
    """One result per request, in the order the requests were given (change set members flattened)."""

    operations: list[BatchOperationResult]

    @property
    def succeeded(self) -> bool:
        return all(operation.outcome == "succeeded" for operation in self.operations)

    @property
    def failures(self) -> list[BatchOperationResult]:
        return [operation for operation in self.operations if operation.outcome != "succeeded"]


@dataclass(frozen=True)
class _Part:
    headers: dict[str, str]  # MIME part headers, lower-case names
    status: int | None = None  # None for a change set response
    response_headers: dict[str, str] | None = None
    body: bytes = b""
    parts: tuple[_Part, ...] = ()


def is_batch_answer(response: httpx.Response) -> bool:
    """A 400 whose body is the multipart batch answer (processing stopped at a failing request)."""
    return response.status_code == 400 and _boundary(response.headers.get("content-type", "")) is not None


def parse_batch_response(response: httpx.Response, prepared: PreparedBatch) -> BatchResult:
    boundary = _boundary(response.headers.get("content-type", ""))
    if boundary is None:
        raise DataverseError(f"Dataverse answered $batch with HTTP {response.status_code} but not a multipart body",
                             status=response.status_code)
    parts = _split(response.content, boundary)
    by_item: dict[int, list[PlannedOperation]] = {}
    for operation in prepared.operations:
        by_item.setdefault(operation.item, []).append(operation)
    results: list[BatchOperationResult] = []
    for index in range(len(prepared.items)):
        planned = by_item[index]
        part = parts[index] if index < len(parts) else None
        if part is None:
            results += [_result(operation, "not_run") for operation in planned]
        elif planned[0].change_set is None:
            results.append(_from_response(planned[0], part))
        else:
            results += _change_set_results(planned, part)
    return BatchResult(results)


def _change_set_results(planned: list[PlannedOperation], part: _Part) -> list[BatchOperationResult]:
    if part.status is not None:  # one application/http response for the whole set
        if part.status < 400 and len(planned) == 1:
            return [_from_response(planned[0], part)]
        failing = part.headers.get("content-id") or (part.response_headers or {}).get("content-id")
        error = _error(part)
        return [_from_response(operation, part) if operation.content_id == failing else
                _result(operation, "rolled_back", error=error) for operation in planned]
    by_id = {sub.headers.get("content-id"): sub for sub in part.parts}
    has_ids = any("content-id" in sub.headers for sub in part.parts)
    failure = next((sub for sub in part.parts if sub.status is not None and sub.status >= 400), None)
    results = []
    for position, operation in enumerate(planned):
        if has_ids:
            sub = by_id.get(operation.content_id)
        else:
            sub = part.parts[position] if position < len(part.parts) else None
        if failure is None:
            results.append(_from_response(operation, sub) if sub is not None else _result(operation, "not_run"))
        elif sub is failure:
            results.append(_from_response(operation, sub))
        else:
            results.append(_result(operation, "rolled_back", error=_error(failure)))
    return results


def _from_response(operation: PlannedOperation, part: _Part) -> BatchOperationResult:
    status = part.status or 0
    body = _json(part.body)
    if status >= 400:
        return _result(operation, "failed", status=status, headers=part.response_headers, body=body,
                       error=_error(part))
    return _result(operation, "succeeded", status=status, headers=part.response_headers, body=body)


def _result(operation: PlannedOperation, outcome: Outcome, *, status: int | None = None,
            headers: dict[str, str] | None = None, body: Any = None,
            error: DataverseError | None = None) -> BatchOperationResult:
    return BatchOperationResult(operation.request, outcome, status, headers or {}, body, error,
                                operation.content_id, operation.change_set)


def _error(part: _Part) -> DataverseError:
    response = httpx.Response(part.status or 500, headers=part.response_headers or {}, content=part.body)
    return error_from_response(response)


def _json(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _boundary(content_type: str) -> str | None:
    if not content_type.lower().startswith("multipart/mixed"):
        return None
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)) if match else None


def _split(body: bytes, boundary: str) -> list[_Part]:
    newline = b"\r\n" if b"\r\n" in body else b"\n"
    delimiter = newline + b"--" + boundary.encode("latin-1")
    pieces = (newline + body).split(delimiter)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        parts.append(_part(piece.split(newline, 1)[1] if newline in piece else b"", newline))
    return parts


def _part(data: bytes, newline: bytes) -> _Part:
    head, _, rest = data.partition(newline + newline)
    headers = _headers(head, newline)
    inner = _boundary(headers.get("content-type", ""))
    if inner is not None:
        return _Part(headers, parts=tuple(_split(rest, inner)))
    response_head, _, body = rest.partition(newline + newline)
    status_line, _, header_text = response_head.partition(newline)
    match = re.match(rb"HTTP/\d\.\d (\d{3})", status_line)
    if match is None:
        raise DataverseError(f"A $batch answer part has no HTTP status line: {status_line[:80]!r}")
    return _Part(headers, int(match.group(1)), _headers(header_text, newline), body.rstrip(b"\r\n"))


def _headers(block: bytes, newline: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("latin-1").split(newline.decode("latin-1")):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


BATCH_OUTCOME_HINT = ("Some, all or none of its operations may have been applied (each change set all or none): query "
                      "the records it creates or changes before sending it again.")


class BatchVerbs(ClientCore):
    async def submit_batch(self, items: Sequence[BatchRequest | ChangeSet], *,
                           continue_on_error: bool = False) -> BatchResult:
        """Send `items` as one `$batch` and report every request's outcome, in order (see `BatchResult`).

        Without `continue_on_error` Dataverse stops at the first failure (later requests: `not_run`); with it every
        request and change set runs. A change set is all or nothing. ValueError before sending for an empty batch,
        over 1,000 operations, GET in a change set or duplicate Content-IDs. Never retried: a batch that fails after
        it was sent (5xx, no answer in time, connection dropped) raises OutcomeUnknownError; ThrottledError on 429
        (nothing ran); BadRequestError when Dataverse refuses the batch as a whole (a malformed body)."""
        prepared = build_batch(items, api_url=self.api_url)
        response = await self._send(
            "POST",
            "$batch",
            content=prepared.body,
            content_type=prepared.content_type,
            prefer=["odata.continue-on-error"] if continue_on_error else [],
            idempotent=False,
            outcome_hint=BATCH_OUTCOME_HINT,
            accept_response=is_batch_answer,
        )
        return parse_batch_response(response, prepared)
