"""Telemetry: switching on Application Insights export, and the spans the app records itself.

- `configure_telemetry(settings)` sets the app's log levels, quietens chatty SDK loggers and, only when
  APPLICATIONINSIGHTS_CONNECTION_STRING is set, calls `azure.monitor.opentelemetry.configure_azure_monitor` (imported
  lazily: it is heavy, and cold starts matter) so traces and the "dataverse" loggers — the audit log included — are
  exported. Idempotent.
- `tool_span(...)` wraps one tool call in a span; `record_dataverse_request(info)` adds one child CLIENT span per
  Dataverse HTTP attempt, timed from the attempt itself. `on_dataverse_response(info)` is the hook to give the
  Dataverse client (`on_response=`): the span, plus the request id noted on the audited call in progress.

Privacy: spans carry ids, names, codes, statuses and timings only. Exception messages (which may quote field values)
and query strings are never recorded; key values in a URL path such as `accounts(name='x')` are masked.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from dataverse.audit import AUDIT_LOGGER_NAME, describe_failure, observe_dataverse_request

if TYPE_CHECKING:
    from dataverse.settings import Settings
    from dataverse.webapi.retry import RequestInfo

APP_LOGGER_NAME = "dataverse"  # every logger in the package (and the audit log) sits under this one
TRACER_NAME = "dataverse-mcp"
NOISY_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.monitor.opentelemetry.exporter",
    "azure.monitor.opentelemetry",
    "httpx",
    "httpcore",
    "mcp.server.streamable_http",
    "mcp.server.streamable_http_manager",
    "mcp.server.lowlevel.server",
)
# Instrumentations the Azure Monitor distro would switch on that we keep off: httpx spans would duplicate ours and
# record full URLs, whose OData query strings can hold personal data; urllib/urllib3 add noise under requests (MSAL).
DISABLED_INSTRUMENTATIONS = ("httpx", "httpx2", "urllib", "urllib3", "django", "flask", "fastapi", "psycopg2")

tracer = trace.get_tracer(TRACER_NAME)

_configure_lock = threading.Lock()
_azure_monitor_started = threading.Event()  # set once exporting to Application Insights has begun (once a process)


def configure_telemetry(settings: Settings) -> None:
    """Set log levels and, if a connection string is configured, start exporting to Application Insights (once)."""
    logging.getLogger(APP_LOGGER_NAME).setLevel(settings.log_level.upper())
    logging.getLogger(AUDIT_LOGGER_NAME).setLevel(logging.INFO)  # the audit trail is kept whatever LOG_LEVEL says
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    connection_string = settings.applicationinsights_connection_string.strip()
    if not connection_string:
        return
    with _configure_lock:
        if _azure_monitor_started.is_set():
            return
        from azure.monitor.opentelemetry import configure_azure_monitor  # heavy: only when exporting

        configure_azure_monitor(
            connection_string=connection_string,
            logger_name=APP_LOGGER_NAME,
            instrumentation_options={name: {"enabled": False} for name in DISABLED_INSTRUMENTATIONS},
        )
        _azure_monitor_started.set()


def exporting_telemetry() -> bool:
    """True once a real (SDK) tracer provider is installed; False on the no-op path."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider)


@asynccontextmanager
async def tool_span(name: str, *, tool: str, environment: str | None, user_oid: str | None) -> AsyncIterator[Span]:
    """A span around one tool call, current for the block (Dataverse request spans nest under it).

    Sets `dataverse.outcome` ("ok", "error", "denied", "cancelled"); on an exception also the error status,
    `error.type`, `dataverse.error_code`, `dataverse.request_id` and an `exception` event with type and stack frames
    (no message). The exception propagates unchanged.
    """
    with tracer.start_as_current_span(
        name, kind=SpanKind.INTERNAL, record_exception=False, set_status_on_exception=False
    ) as span:
        if span.is_recording():
            span.set_attributes({"mcp.method.name": "tools/call", "gen_ai.tool.name": tool})
            if environment:
                span.set_attribute("dataverse.environment", environment)
            if user_oid:
                span.set_attribute("enduser.id", user_oid)
        try:
            yield span
        except BaseException as error:
            if span.is_recording():
                _mark_failed(span, error)
            raise
        else:
            if span.is_recording():
                span.set_attribute("dataverse.outcome", "ok")


def _mark_failed(span: Span, error: BaseException) -> None:
    failure = describe_failure(error)
    span.set_attribute("dataverse.outcome", failure.outcome)
    span.set_attribute("error.type", type(error).__name__)
    span.set_attribute("dataverse.error_code", failure.error_code)
    if failure.request_id:
        span.set_attribute("dataverse.request_id", failure.request_id)
    span.add_event(
        "exception",
        {
            "exception.type": f"{type(error).__module__}.{type(error).__qualname__}",
            "exception.stacktrace": "".join(traceback.format_tb(error.__traceback__)),  # frames only, no message
        },
    )
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__} ({failure.error_code})"))


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")


def redact_path(path: str) -> str:
    """The URL path with key values masked: `accounts(<guid>)` stays, `contacts(emailaddress1='a@b.c')` becomes
    `contacts(…)`."""
    return _PARENTHESISED.sub(lambda m: m.group(0) if _GUID.fullmatch(m.group(1)) else "(…)", path)


def path_template(path: str) -> str:
    """A low-cardinality span name path: every parenthesised key becomes `({id})` or `(…)`."""
    return _PARENTHESISED.sub(lambda m: "({id})" if _GUID.fullmatch(m.group(1)) else "(…)", path)


def record_dataverse_request(info: RequestInfo, *, environment_url: str | None = None) -> None:
    """Add a CLIENT span for one Dataverse HTTP attempt, ending now and lasting `info.duration_seconds`.

    Attributes: http.request.method, url.path (keys masked), http.response.status_code, dataverse.request_id,
    dataverse.attempt, dataverse.duration_ms, each x-ms-ratelimit-* response header as `dataverse.<header>`, and
    error.type on failure. Application Insights keeps http.* and url.* as dependency fields (name, result code, data)
    rather than customDimensions, so the path is also `dataverse.path`, and `url.full` is the templated URL that names
    the dependency (`GET /api/data/v9.2/accounts({id})`), on `environment_url`'s host when given.
    A no-op costing a type check when no OpenTelemetry SDK is installed.
    """
    if not exporting_telemetry():
        return
    end_ns = time.time_ns()
    start_ns = end_ns - max(0, int(info.duration_seconds * 1e9))
    template = path_template(info.path)
    span = tracer.start_span(f"{info.method} {template}", kind=SpanKind.CLIENT, start_time=start_ns)
    try:
        if span.is_recording():
            origin = _origin(environment_url)
            redacted = redact_path(info.path)
            span.set_attributes(
                {
                    "http.request.method": info.method,
                    "url.path": redacted,
                    "url.full": f"{origin}{template}",
                    "dataverse.path": redacted,
                    "dataverse.attempt": info.attempt,
                    "dataverse.duration_ms": round(info.duration_seconds * 1000.0, 3),
                }
            )
            if origin:
                parts = urlsplit(origin)
                span.set_attributes({"url.scheme": parts.scheme, "server.address": parts.hostname or "",
                                     "server.port": parts.port or (443 if parts.scheme == "https" else 80)})
            if info.status is not None:
                span.set_attribute("http.response.status_code", info.status)
            if info.request_id:
                span.set_attribute("dataverse.request_id", info.request_id)
            for header, value in info.rate_limit.items():
                span.set_attribute(f"dataverse.{header.lower()}", value)
            failed_as = info.error or (str(info.status) if info.status is not None and info.status >= 400 else None)
            if failed_as:
                span.set_attribute("error.type", failed_as)
                span.set_status(Status(StatusCode.ERROR, failed_as))
    finally:
        span.end(end_time=end_ns)


def _origin(environment_url: str | None) -> str:
    """`https://host[:port]` of an environment URL (no path, no credentials), or "" when unknown."""
    if not environment_url:
        return ""
    parts = urlsplit(environment_url)
    if not parts.scheme or not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{parts.hostname}{port}"  # hostname is lower-cased and drops any user:password@


def on_dataverse_response(info: RequestInfo, *, environment_url: str | None = None) -> None:
    """The Dataverse client's `on_response` hook: a request span, and the request id for the current audit event.
    Bind the environment per client: `functools.partial(on_dataverse_response, environment_url=url)`."""
    record_dataverse_request(info, environment_url=environment_url)
    observe_dataverse_request(info)
