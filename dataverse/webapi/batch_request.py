"""Building a `$batch` request: several requests in one multipart/mixed POST, change sets all-or-nothing.

Build the operations with `BatchRequest` (`create`, `update`, `delete`, `retrieve`, `query`, `associate`, or the
constructor for anything else) and group writes that must succeed together in a `ChangeSet`. Inside a change set
each request has a Content-ID (given, or numbered here, unique across the batch) and a later request may refer to a
record created earlier in the same set as `$<n>`: as its path (`$1`, `$1/primarycontactid/$ref`) or as an
`@odata.bind` / `@odata.id` value. GET is not allowed in a change set; a batch holds at most 1,000 operations.

The request body follows the documented wire format: CRLF line endings, `--batch_<id>` parts of
`Content-Type: application/http` + `Content-Transfer-Encoding: binary`, the request line with the absolute URL, a JSON
body with `Content-Type: application/json; type=entry`, and a closing `--batch_<id>--` followed by CRLF. Reading the
answer, and `submit_batch`, are `batch`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .odata import collection_path, encode_query, record_path, select_option, validate_query_expression
from .wire import check_path, if_match

BatchMethod = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
MAX_BATCH_OPERATIONS = 1000
CRLF = "\r\n"
_REFERENCE = re.compile(r"\$[A-Za-z0-9_]+(?:/[A-Za-z0-9_.,()'=$@/:%*-]*)?\Z")
_CONTENT_ID = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch. `path` is relative to the Web API root (`accounts`, `accounts(<id>)`,
    `accounts(<id>)/contact_customer_accounts/$ref`) or, inside a change set, a `$<n>` reference."""

    method: BatchMethod
    path: str
    body: Mapping[str, Any] | None = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"{self.method!r} is not a batch method: use one of {_METHODS}")
        if not _REFERENCE.match(self.path):
            check_path(self.path)
            if self.path.startswith("/"):
                raise ValueError(f"{self.path!r}: batch paths are relative to the Web API root, e.g. 'accounts'")
        if self.content_id is not None and not _CONTENT_ID.match(self.content_id):
            raise ValueError(f"{self.content_id!r} is not a Content-ID: use letters, digits and underscores")
        for name, value in self.headers.items():
            if name.lower() in ("authorization", "content-type", "content-length") or any(
                    char in f"{name}{value}" for char in "\r\n\x00"):
                raise ValueError(f"the header {name!r} cannot be set on a batch request")
        if self.body is not None and self.method in ("GET", "DELETE"):
            raise ValueError(f"a {self.method} request has no body")

    @classmethod
    def create(cls, entity_set: str, body: Mapping[str, Any], *, content_id: str | None = None) -> BatchRequest:
        return cls("POST", collection_path(entity_set), body, content_id=content_id)

    @classmethod
    def update(cls, entity_set: str, record_id: str, body: Mapping[str, Any], *, etag: str | None = None,
               content_id: str | None = None) -> BatchRequest:
        """PATCH with If-Match (the ETag, or * so a missing record is 404, never created)."""
        return cls("PATCH", record_path(entity_set, record_id), body, headers={"If-Match": if_match(etag)},
                   content_id=content_id)

    @classmethod
    def delete(cls, entity_set: str, record_id: str, *, etag: str | None = None,
               content_id: str | None = None) -> BatchRequest:
        headers = {"If-Match": if_match(etag)} if etag is not None else {}
        return cls("DELETE", record_path(entity_set, record_id), headers=headers, content_id=content_id)

    @classmethod
    def retrieve(cls, entity_set: str, record_id: str, *, select: Sequence[str] | None = None) -> BatchRequest:
        params = {"$select": select_option(select)} if select else None
        return cls("GET", record_path(entity_set, record_id), params=params)

    @classmethod
    def query(cls, entity_set: str, *, select: Sequence[str] | None = None, filter: str | None = None,
              top: int | None = None) -> BatchRequest:
        params: dict[str, str] = {}
        if select:
            params["$select"] = select_option(select)
        if filter is not None:
            params["$filter"] = validate_query_expression(filter, option="$filter")
        if top is not None:
            params["$top"] = str(int(top))
        return cls("GET", collection_path(entity_set), params=params or None)

    @classmethod
    def associate(cls, entity_set: str, record_id: str, navigation: str, *, target_set: str, target_id: str,
                  content_id: str | None = None) -> BatchRequest:
        """Add `target_set(target_id)` to a collection-valued navigation (`POST .../{nav}/$ref`)."""
        from .associations import reference_path

        return cls("POST", reference_path(entity_set, record_id, navigation),
                   {"@odata.id": record_path(target_set, target_id)}, content_id=content_id)


@dataclass(frozen=True)
class ChangeSet:
    """Requests applied all together or not at all (no GET)."""

    requests: tuple[BatchRequest, ...]

    def __init__(self, requests: Iterable[BatchRequest]) -> None:
        object.__setattr__(self, "requests", tuple(requests))
        if not self.requests:
            raise ValueError("a change set needs at least one request")
        if any(request.method == "GET" for request in self.requests):
            raise ValueError("GET is not allowed in a change set: put reads outside it")


@dataclass(frozen=True)
class PlannedOperation:
    """Where one request sits in the batch: its top-level item, its change set (if any) and its Content-ID."""

    request: BatchRequest
    item: int
    change_set: int | None
    content_id: str | None


@dataclass(frozen=True)
class PreparedBatch:
    content_type: str
    body: bytes
    items: tuple[BatchRequest | ChangeSet, ...]
    operations: tuple[PlannedOperation, ...]


def build_batch(items: Sequence[BatchRequest | ChangeSet], *, api_url: str) -> PreparedBatch:
    """The multipart body and content type for `items`, with Content-IDs numbered and checked."""
    if isinstance(items, BatchRequest | ChangeSet) or not items:
        raise ValueError("submit_batch expects a non-empty sequence of BatchRequest and ChangeSet items")
    count = sum(len(item.requests) if isinstance(item, ChangeSet) else 1 for item in items)
    if count > MAX_BATCH_OPERATIONS:
        raise ValueError(f"a batch holds at most {MAX_BATCH_OPERATIONS} operations, not {count}: split it")
    given = [request.content_id for item in items if isinstance(item, ChangeSet) for request in item.requests
             if request.content_id is not None]
    if len(given) != len(set(given)):
        raise ValueError("Content-IDs must be unique across the batch")
    numbers = (str(number) for number in range(1, count + len(given) + 2) if str(number) not in given)
    boundary = f"batch_{uuid.uuid4()}"
    parts: list[str] = []
    planned: list[PlannedOperation] = []
    change_sets = 0
    for index, item in enumerate(items):
        if isinstance(item, BatchRequest):
            if _REFERENCE.match(item.path):
                raise ValueError(f"{item.path!r}: a $<n> reference is only valid inside a change set")
            planned.append(PlannedOperation(item, index, None, None))
            parts.append(_request_part(item, api_url, None))
            continue
        change_boundary = f"changeset_{uuid.uuid4()}"
        inner = []
        for request in item.requests:
            content_id = request.content_id or next(numbers)
            planned.append(PlannedOperation(request, index, change_sets, content_id))
            inner.append(f"--{change_boundary}{CRLF}{_request_part(request, api_url, content_id)}")
        parts.append(f"Content-Type: multipart/mixed; boundary={change_boundary}{CRLF}{CRLF}"
                     + "".join(inner) + f"--{change_boundary}--")
        change_sets += 1
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts) + f"--{boundary}--{CRLF}"
    return PreparedBatch(f"multipart/mixed; boundary={boundary}", body.encode("utf-8"), tuple(items),
                         tuple(planned))


def _request_part(request: BatchRequest, api_url: str, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    url = request.path if _REFERENCE.match(request.path) else api_url + request.path
    query = encode_query(request.params or {})
    lines += ["", f"{request.method} {url}{'?' + query if query else ''} HTTP/1.1"]
    if request.body is not None:
        lines.append("Content-Type: application/json; type=entry")
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append("")
    lines.append(json.dumps(request.body, ensure_ascii=False) if request.body is not None else "")
    return CRLF.join(lines) + CRLF
