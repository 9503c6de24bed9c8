"""Azure Functions composition root. Thin by design: it registers the triggers and hands each to the package, which
it reaches through one facade, `dataverse.app` (the ASGI app, and `jobs` for everything else).

- `http`: one catch-all HTTP trigger serving the ASGI app, with a Durable Functions client binding so that creating a
  delete proposal can start the orchestration that expires it.
- `expire_delete_proposal_orchestrator` / `expire_delete_proposal`: the durable timer that expires an unconfirmed
  delete proposal, and the activity that tombstones it and writes the audit event.
- `sweep_expired_rows`: a timer trigger that purges expired OAuth rows and proposals from Table Storage.

The package is imported, and the ASGI app and the store built, on first use, not at import: a cold start pays only
for importing this file, `azure.functions` and `azure.durable_functions` (which the trigger decorators need).
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import azure.durable_functions as df
import azure.functions as func

if TYPE_CHECKING:
    from dataverse.app import jobs


# --- the host's API, typed where this file meets it (azure.durable_functions ships no types; AsgiMiddleware and the
# --- durable decorators of azure.functions are unannotated) -------------------------------------------------------

Registration = Callable[[Any], Any]  # a trigger or binding decorator: it returns the host's function builder


class FunctionRegistry(Protocol):
    """The decorators of DFApp this file registers its functions with."""

    def function_name(self, name: str) -> Registration: ...
    def route(self, *, route: str, methods: list[func.HttpMethod]) -> Registration: ...
    def durable_client_input(self, *, client_name: str) -> Registration: ...
    def orchestration_trigger(self, *, context_name: str) -> Registration: ...
    def activity_trigger(self, *, input_name: str) -> Registration: ...
    def timer_trigger(self, *, schedule: str, arg_name: str, run_on_startup: bool) -> Registration: ...


class AsgiHost(Protocol):
    """What this file uses of azure.functions.AsgiMiddleware: lifespan startup, then one call per request."""

    async def notify_startup(self) -> bool: ...
    async def handle_async(self, req: func.HttpRequest, context: func.Context) -> func.HttpResponse: ...


serve_asgi: Callable[[Any], AsgiHost] = func.AsgiMiddleware

app: FunctionRegistry = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

ORCHESTRATOR = "expire_delete_proposal_orchestrator"  # == dataverse.app.jobs.ORCHESTRATOR_NAME (tested)
ACTIVITY = "expire_delete_proposal"  # == dataverse.app.jobs.ACTIVITY_NAME (tested)


# --- what this worker process builds once ----------------------------------------------------------------------------


class _Process:
    """The ASGI app (behind AsgiMiddleware, started once) and the store, shared by every trigger of this process."""

    def __init__(self) -> None:
        self.asgi_host: AsgiHost | None = None
        self.started = False
        self.store: jobs.Store | None = None


_process = _Process()
_durable_client: contextvars.ContextVar[df.DurableOrchestrationClient | None] = contextvars.ContextVar(
    "durable_client", default=None
)


async def schedule_expiry_with_durable_timer(proposal_key: str, expires_at: float) -> None:
    """AppDeps.schedule_expiry in Azure: start the expiry orchestration through this request's durable client."""
    from dataverse.app import jobs

    client = _durable_client.get()
    if client is None:
        raise RuntimeError("no Durable Functions client is bound to this request")
    await client.start_new(ORCHESTRATOR, client_input=jobs.expiry_input(proposal_key, expires_at))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic garbage collection off for the block, then everything alive frozen out of future collections.

    Importing the package and building the app allocate a few hundred thousand long-lived objects (modules, classes,
    pydantic schemas, MCP tool models); every automatic collection they trigger rescans the survivors, and on a cold
    instance that is paid before the first answer. The app lives as long as the process, so freezing it costs
    nothing. The pause saves about 150 ms, half of it in the package's first import, which is why it is done here,
    around that import (benchmarks/first_call.py measures it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _build_asgi_app() -> Any:  # the ASGI callable AsgiMiddleware serves
    """Import the package and build the app, with the collector paused (the first request on a cold instance waits
    for this)."""
    with collector_paused():
        from dataverse.app import AppDeps, create_app_from_environment

        return create_app_from_environment(
            deps=AppDeps(store=_shared_store(), schedule_expiry=schedule_expiry_with_durable_timer)
        )


def _shared_store() -> jobs.Store:
    """The process's store (Table Storage in Azure), shared by the HTTP app, the activity and the sweeper."""
    if _process.store is None:
        from dataverse.app import jobs

        _process.store = jobs.store_from_settings()
    return _process.store


def use_asgi_app(asgi_app: Any, *, store: jobs.Store | None = None) -> None:
    """Serve this ASGI app (and use this store) instead of building them from the environment; None resets."""
    _process.asgi_host = serve_asgi(asgi_app) if asgi_app is not None else None
    _process.started = False
    _process.store = store


async def _ready_asgi_host() -> AsgiHost:
    if _process.asgi_host is None:
        _process.asgi_host = serve_asgi(_build_asgi_app())
    if not _process.started:
        if not await _process.asgi_host.notify_startup():
            raise RuntimeError("ASGI app startup failed; see the logs above")
        _process.started = True
    return _process.asgi_host


# --- the functions ---------------------------------------------------------------------------------------------------


@app.function_name("http")
@app.route(route="{*route}", methods=list(func.HttpMethod))
@app.durable_client_input(client_name="client")
async def http(
    req: func.HttpRequest, context: func.Context, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    asgi_host = await _ready_asgi_host()
    bound = _durable_client.set(client)
    try:
        return await asgi_host.handle_async(req, context)
    finally:
        _durable_client.reset(bound)


@app.function_name(ORCHESTRATOR)
@app.orchestration_trigger(context_name="context")
def expire_delete_proposal_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    from dataverse.app import jobs

    return (yield from jobs.orchestrate_expiry(context))


@app.function_name(ACTIVITY)
@app.activity_trigger(input_name="payload")
# `payload: dict`, not dict[str, Any]: the Python worker checks parameter annotations when it loads a function and
# refuses anything but a plain class or a typing generic (a PEP 585 alias fails its check in older workers).
async def expire_delete_proposal(payload: dict) -> bool:  # type: ignore[type-arg]
    from dataverse.app import jobs

    return await jobs.expire_proposal(_shared_store(), payload)


@app.function_name("sweep_expired_rows")
@app.timer_trigger(schedule="0 */15 * * * *", arg_name="timer", run_on_startup=False)
async def sweep_expired_rows(timer: func.TimerRequest) -> None:
    from dataverse.app import jobs

    await jobs.sweep_expired_rows(_shared_store())
