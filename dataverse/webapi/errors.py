"""Errors the Dataverse Web API client raises, and the parsing of Dataverse error responses into them.

The hierarchy, drawn once:

    DataverseError                     anything Dataverse (or the way to it) refused or failed; .status .code .message
    ├── BadRequestError                400: bad argument, unknown property (0x80060888), bad $filter literal
    ├── AuthenticationError            401: token missing, expired or for another audience (reason: WWW-Authenticate)
    ├── PermissionDeniedError          403: the signed-in user's security roles forbid it (0x80040220)
    ├── NotFoundError                  404: no such record (0x80040217) or entity set
    ├── ConcurrencyError               412: the ETag in If-Match no longer matches (0x80060882)
    ├── PayloadTooLargeError           413
    ├── ThrottledError                 429 still returned when the retry budget ran out; .retry_after seconds
    ├── ServerError                    5xx still returned after the retries
    ├── DataverseTimeoutError          the transport timed out (after the retries, for idempotent requests)
    ├── DataverseConnectionError       could not connect at all (nothing was sent)
    └── OutcomeUnknownError            a non-idempotent request failed after it was sent: it may have happened

    UrlTooLongError(ValueError)        client-side: the GET URL would exceed Dataverse's 32,768-character limit

`str()` of every DataverseError is one line a person (or a model) can act on, including the code and request id.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import httpx

REQUEST_ID_HEADERS = ("x-ms-service-request-id", "REQ_ID")
MAX_URL_LENGTH = 32_768


class DataverseError(Exception):
    """Base class. `status` is the HTTP status (None when no response), `code` the hex error code or ""."""

    default_message = "Dataverse request failed"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str = "",
        request_id: str | None = None,
    ) -> None:
        self.message = _one_line(message) or self.default_message
        self.status = status
        self.code = code or ""
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        return f"{self.message} ({', '.join(details)})" if details else self.message


class BadRequestError(DataverseError):
    default_message = "Dataverse rejected the request as invalid"


class AuthenticationError(DataverseError):
    default_message = "Dataverse did not accept the access token"


class PermissionDeniedError(DataverseError):
    default_message = "The signed-in user lacks the privilege for this operation"


class NotFoundError(DataverseError):
    default_message = "Not found in Dataverse"


class ConcurrencyError(DataverseError):
    default_message = "The record changed since it was read (ETag mismatch); read it again and retry"


class PayloadTooLargeError(DataverseError):
    default_message = "The request body is too large for Dataverse"


class ThrottledError(DataverseError):
    """Dataverse service protection limits: the message says "throttled, retry after N s"."""

    def __init__(self, message: str = "", *, retry_after: float, **kwargs: Any) -> None:
        self.retry_after = max(0.0, float(retry_after))
        self.detail = _one_line(message)
        seconds = math.ceil(self.retry_after)
        prefix = f"Dataverse throttled, retry after {seconds} s"
        super().__init__(f"{prefix}: {_one_line(message)}" if message else prefix, **kwargs)


class ServerError(DataverseError):
    default_message = "Dataverse had a server error"


class DataverseTimeoutError(DataverseError):
    default_message = "Dataverse did not answer in time"


class DataverseConnectionError(DataverseError):
    default_message = "Could not connect to Dataverse"


class OutcomeUnknownError(DataverseError):
    default_message = "The request failed after it was sent: it may or may not have been applied"


class UrlTooLongError(ValueError):
    """A GET URL longer than Dataverse accepts; raised before anything is sent."""

    def __init__(self, length: int, *, what: str = "query") -> None:
        self.length = length
        super().__init__(
            f"The {what} is too long: the request URL would be {length:,} characters and Dataverse accepts at most "
            f"{MAX_URL_LENGTH:,}. Select fewer columns, shorten the filter, or split the query."
        )


_STATUS_ERRORS: dict[int, type[DataverseError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    412: ConcurrencyError,
    413: PayloadTooLargeError,
}


def get_request_id(response: httpx.Response) -> str | None:
    """The Dataverse request id of a response (x-ms-service-request-id, else REQ_ID), for support tickets."""
    for header in REQUEST_ID_HEADERS:
        value: str = response.headers.get(header) or ""
        if value:
            return value.split(",", maxsplit=1)[0].strip()
    return None


def parse_error_body(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from a Dataverse error body `{"error": {"code", "message"}}`; plain text as a fallback."""
    text = response.text if response.content else ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("code") or ""), str(error.get("message") or "")
        if isinstance(body.get("Message"), str):  # some gateways answer {"Message": "..."}
            return "", body["Message"]
    return "", text[:500]


def authenticate_reason(response: httpx.Response) -> str:
    """The human part of a `WWW-Authenticate: Bearer error="...", error_description="..."` header."""
    header: str = response.headers.get("www-authenticate") or ""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
    return fields.get("error_description") or fields.get("error") or header


def error_from_response(response: httpx.Response) -> DataverseError:
    """The DataverseError for a non-success response (429 and 5xx included; the retry layer decides when to raise)."""
    status = response.status_code
    code, message = parse_error_body(response)
    request_id = get_request_id(response)
    if status == 401 and not message:
        message = authenticate_reason(response)
    if status == 429:
        return ThrottledError(
            message, retry_after=parse_retry_after(response) or 0.0, status=status, code=code, request_id=request_id
        )
    error_type = _STATUS_ERRORS.get(status)
    if error_type is None:
        error_type = ServerError if status >= 500 else DataverseError
    if not message:
        message = f"{error_type.default_message} ({response.reason_phrase or 'no reason given'})"
    return error_type(message, status=status, code=code, request_id=request_id)


def parse_retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header given in seconds (Dataverse's form); None when absent or unparseable."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
