"""The audit log: who did what to which record, with what outcome — and never the data itself.

An `AuditEvent` is a closed set of short, pattern-checked fields (ids, names, codes, a latency, a timestamp). It has no
free-form field, so record contents, filters, field values, error messages and tokens cannot be put in one.
`AuditLog.emit` writes each event as ONE JSON line to the "dataverse.audit" logger at INFO, with the same fields
flattened into the record's `extra` plus `audit="true"`; the OpenTelemetry logging handler that
`dataverse.telemetry.configure_telemetry` installs turns those into Application Insights `traces` customDimensions.

`AuditLog.audited(...)` is the tools layer's helper: an async context manager that times the call, reads the caller
from the MCP `AccessToken` (subject = Entra oid, claims["upn"], client_id), turns an exception into an outcome and an
error code, and emits exactly one event. Dataverse request ids reach it through `observe_dataverse_request`, which the
client's `on_response` hook calls inside the tool's task.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

    from dataverse.webapi.retry import RequestInfo

AUDIT_LOGGER_NAME = "dataverse.audit"
AUDIT_MARKER = "audit"  # the customDimensions key (value "true") that operators filter on
# This module's own warnings go here, not to the audit logger (which must hold audit events only).
diagnostics = logging.getLogger("dataverse.audit_diagnostics")

AuditEventName = Literal[
    "tool_call", "prompt_get", "resource_read", "proposal_created", "proposal_confirmed", "proposal_expired",
    "proposal_failed", "delete_failed", "change_failed",
]
AuditOutcome = Literal["ok", "error", "denied", "expired", "cancelled"]

# Every text field is a short token without spaces, quotes or braces: an id, a name, a code, a URL. None can hold a
# sentence, a JSON document or a filter expression.
_Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")]
_GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_Guid = Annotated[str, StringConstraints(to_lower=True, pattern=_GUID_PATTERN)]
_Upn = Annotated[str, StringConstraints(pattern=r"^[^\s\"'{}\[\]<>\\,;=()]{1,256}$")]
_UrlLike = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._~:/\-]{1,512}$")]  # no query string, no spaces
_TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,128}$")]


class AuditEvent(BaseModel):
    """One audited action. Closed: unknown fields are rejected and every text field is pattern-checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: AuditEventName
    tool: _Identifier
    outcome: AuditOutcome
    user_oid: _Identifier | None = None
    upn: _Upn | None = None
    client_id: _UrlLike | None = None  # a DCR client id or a CIMD URL
    environment: _UrlLike | None = None  # the Dataverse environment URL
    table: _TableName | None = None
    record_id: _Guid | None = None
    error_code: _Identifier | None = None  # a Dataverse hex code or an exception class name, never a message
    latency_ms: Annotated[float, Field(ge=0)] | None = None
    dataverse_request_id: _Identifier | None = None
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def to_json_line(self) -> str:
        """The event as one line of JSON, keys in declaration order (a stable shape)."""
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=True)

    def to_dimensions(self) -> dict[str, str | float]:
        """The set fields, flattened for a log record's `extra` (Application Insights customDimensions)."""
        dumped = self.model_dump(mode="json", exclude_none=True)
        return {key: value if isinstance(value, float | int) else str(value) for key, value in dumped.items()}


AuditSink = Callable[[str], None]


@dataclass(frozen=True)
class Failure:
    """What an exception means for the audit log and the trace: outcome, a code, and Dataverse's request id."""

    outcome: AuditOutcome
    error_code: str
    request_id: str | None


def describe_failure(error: BaseException) -> Failure:
    """Classify an exception without reading its message.

    Looks along the `raise ... from` chain for a Dataverse client error (anything with a `status` attribute): its
    `code` (e.g. 0x80040220) is the error code, else its class name; 401/403 means "denied". An exception class may
    set `audit_outcome` to choose its outcome; cancellation is "cancelled".
    """
    chain = list(_cause_chain(error))
    if isinstance(error, asyncio.CancelledError):
        return Failure("cancelled", "CancelledError", None)
    dataverse_error = next((item for item in chain if hasattr(item, "status")), None)
    code = getattr(dataverse_error, "code", None) if dataverse_error is not None else None
    if not (isinstance(code, str) and code):
        code = type(dataverse_error if dataverse_error is not None else error).__name__
    request_ids = (getattr(item, "request_id", None) for item in chain)
    request_id = next((value for value in request_ids if isinstance(value, str)), None)
    chosen = next((item.audit_outcome for item in chain if hasattr(item, "audit_outcome")), None)
    if chosen in ("ok", "error", "denied", "expired", "cancelled"):
        outcome: AuditOutcome = chosen
    elif any(getattr(item, "status", None) in (401, 403) for item in chain):
        outcome = "denied"
    else:
        outcome = "error"
    return Failure(outcome, code, request_id or None)


def _cause_chain(error: BaseException, *, limit: int = 8) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < limit:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


class AuditScope:
    """The facts one audited call collects while it runs. Only these slots exist; nothing else can be attached."""

    __slots__ = ("dataverse_request_id", "environment", "error_code", "outcome", "record_id", "table")

    def __init__(self, *, environment: str | None, table: str | None, record_id: str | None) -> None:
        self.environment = environment
        self.table = table
        self.record_id = record_id
        self.dataverse_request_id: str | None = None
        self.outcome: AuditOutcome | None = None
        self.error_code: str | None = None

    def set_target(self, *, table: str | None = None, record_id: str | None = None) -> None:
        """The table and record the call acted on (e.g. the id of a record it just created)."""
        if table is not None:
            self.table = table
        if record_id is not None:
            self.record_id = record_id

    def set_outcome(self, outcome: AuditOutcome, *, error_code: str | None = None) -> None:
        """Override the outcome of a call that returns normally (e.g. a refusal reported as a result)."""
        self.outcome = _OUTCOME.validate_python(outcome)
        self.error_code = error_code


_OUTCOME: TypeAdapter[AuditOutcome] = TypeAdapter(AuditOutcome)
_TOOL_NAME: TypeAdapter[str] = TypeAdapter(_Identifier)
_current_scope: contextvars.ContextVar[AuditScope | None] = contextvars.ContextVar("audit_scope", default=None)


def current_scope() -> AuditScope | None:
    """The audited call running in this task, so a tool can name its target once it knows it (e.g. a new id)."""
    return _current_scope.get()


def observe_dataverse_request(info: RequestInfo) -> None:
    """Note a Dataverse response's request id on the audited call running in this task (an `on_response` hook)."""
    scope = _current_scope.get()
    if scope is not None and info.request_id:
        scope.dataverse_request_id = info.request_id


class AuditLog:
    """Writes audit events to the "dataverse.audit" logger, and to an optional sink (one JSON line per event)."""

    def __init__(
        self,
        *,
        logger: logging.Logger | None = None,
        sink: AuditSink | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._logger = logger or logging.getLogger(AUDIT_LOGGER_NAME)
        self._sink = sink
        self._now = now
        self._timer = timer

    def emit(self, event: AuditEvent) -> None:
        """Log the event: the JSON line is the message; the fields, plus audit="true", are the record's extra."""
        line = event.to_json_line()
        self._logger.info(line, extra={AUDIT_MARKER: "true", **event.to_dimensions()})
        if self._sink is not None:
            try:
                self._sink(line)
            except Exception:  # noqa: BLE001 - an audit sink, whatever it raises, must never fail the action it records
                diagnostics.exception("could not write an event to the audit sink")

    @asynccontextmanager
    async def audited(
        self,
        tool: str,
        *,
        access_token: AccessToken | None,
        event: AuditEventName = "tool_call",
        environment: str | None = None,
        table: str | None = None,
        record_id: str | None = None,
    ) -> AsyncIterator[AuditScope]:
        """Time the block and emit one event for it, whatever happens. Exceptions propagate unchanged."""
        _TOOL_NAME.validate_python(tool)  # a bad tool name is a programming error: fail before the work, not after
        scope = AuditScope(environment=environment, table=table, record_id=record_id)
        reset = _current_scope.set(scope)
        started = self._timer()
        failure: Failure | None = None
        try:
            yield scope
        except BaseException as error:
            failure = describe_failure(error)
            raise
        finally:
            _current_scope.reset(reset)
            latency_ms = max(0.0, (self._timer() - started) * 1000.0)
            self.emit(self._event_from(scope, tool, event, access_token, failure, latency_ms))

    def _event_from(
        self,
        scope: AuditScope,
        tool: str,
        event: AuditEventName,
        access_token: AccessToken | None,
        failure: Failure | None,
        latency_ms: float,
    ) -> AuditEvent:
        claims = (access_token.claims or {}) if access_token is not None else {}
        fields: dict[str, Any] = {
            "event": event,
            "tool": tool,
            "outcome": failure.outcome if failure else (scope.outcome or "ok"),
            "user_oid": access_token.subject if access_token is not None else None,
            "upn": claims.get("upn") if isinstance(claims.get("upn"), str) else None,
            "client_id": access_token.client_id if access_token is not None else None,
            "environment": scope.environment,
            "table": scope.table,
            "record_id": scope.record_id,
            "error_code": failure.error_code if failure else scope.error_code,
            "latency_ms": round(latency_ms, 3),
            "dataverse_request_id": (failure.request_id if failure else None) or scope.dataverse_request_id,
            "timestamp": self._now(),
        }
        return _build_event_dropping_invalid(fields)


def _build_event_dropping_invalid(fields: dict[str, Any]) -> AuditEvent:
    """The event, with any optional field that fails its pattern left empty (named in a warning, value not logged);
    the audit record is still written. A required field that is invalid raises ValueError."""
    for _ in range(len(fields)):
        try:
            return AuditEvent(**{key: value for key, value in fields.items() if value is not None})
        except ValidationError as error:
            bad = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
            required = bad & {"event", "tool", "outcome"}
            if required or not bad:
                problem = sorted(required) or "unknown"
                raise ValueError(f"audit event has invalid required field(s): {problem}") from None
            diagnostics.warning("dropped invalid audit event field(s): %s", ", ".join(sorted(bad)))
            for key in bad:
                fields[key] = None
    raise ValueError("audit event could not be built")  # pragma: no cover
