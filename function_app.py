"""Azure Functions composition root. Thin by design: it registers the triggers and hands each to the package.

- `http`: one catch-all HTTP trigger serving the ASGI app, with a Durable Functions client binding so that creating a
  delete proposal can start the orchestration that expires it.
- `expire_delete_proposal_orchestrator` / `expire_delete_proposal`: the durable timer that expires an unconfirmed
  delete proposal, and the activity that removes it and writes the audit event.
- `sweep_expired_rows`: a timer trigger that purges expired OAuth rows and proposals from Table Storage.

The ASGI app and the store are built on first use, not at import, so a cold start pays only for importing this file,
`azure.functions` and `azure.durable_functions` (which the trigger decorators need).
"""

from __future__ import annotations

import contextvars

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

ORCHESTRATOR = "expire_delete_proposal_orchestrator"  # == dataverse.tools.delete.expiry.ORCHESTRATOR_NAME (tested)
ACTIVITY = "expire_delete_proposal"  # == dataverse.tools.delete.expiry.ACTIVITY_NAME (tested)

_durable_client: contextvars.ContextVar = contextvars.ContextVar("durable_client", default=None)
_middleware: func.AsgiMiddleware | None = None
_started = False
_store = None


async def schedule_expiry_with_durable_timer(proposal_key: str, expires_at: float) -> None:
    """ToolDeps.schedule_expiry in Azure: start the expiry orchestration through this request's durable client."""
    from dataverse.tools.delete.expiry import expiry_input

    client = _durable_client.get()
    if client is None:
        raise RuntimeError("no Durable Functions client is bound to this request")
    await client.start_new(ORCHESTRATOR, client_input=expiry_input(proposal_key, expires_at))


def _build_asgi_app():
    from dataverse.startup import collector_paused

    with collector_paused():  # the first request on a cold instance waits for this: see dataverse/startup.py
        from dataverse.app import AppDeps, create_app_from_environment

        return create_app_from_environment(deps=AppDeps(store=_shared_store(),
                                                        schedule_expiry=schedule_expiry_with_durable_timer))


def _shared_store():
    """The process's store (Table Storage in Azure), shared by the HTTP app, the activity and the sweeper."""
    global _store
    if _store is None:
        from dataverse.settings import Settings
        from dataverse.storage import create_store

        settings = Settings()
        _store = create_store(
            connection_string=settings.storage_connection_string,
            endpoint=settings.storage_table_endpoint,
            managed_identity_client_id=settings.managed_identity_client_id,
        )
    return _store


def use_asgi_app(asgi_app, *, store=None) -> None:
    """Serve this ASGI app (and use this store) instead of building them from the environment; None resets."""
    global _middleware, _started, _store
    _middleware = func.AsgiMiddleware(asgi_app) if asgi_app is not None else None
    _started = False
    _store = store


async def _ready_middleware() -> func.AsgiMiddleware:
    global _middleware, _started
    if _middleware is None:
        _middleware = func.AsgiMiddleware(_build_asgi_app())
    if not _started:
        if not await _middleware.notify_startup():
            raise RuntimeError("ASGI app startup failed; see the logs above")
        _started = True
    return _middleware


@app.function_name("http")
@app.route(route="{*route}", methods=[method for method in func.HttpMethod])
@app.durable_client_input(client_name="client")
async def http(req: func.HttpRequest, context: func.Context, client) -> func.HttpResponse:
    middleware = await _ready_middleware()
    bound = _durable_client.set(client)
    try:
        return await middleware.handle_async(req, context)
    finally:
        _durable_client.reset(bound)


@app.function_name(ORCHESTRATOR)
@app.orchestration_trigger(context_name="context")
def expire_delete_proposal_orchestrator(context: df.DurableOrchestrationContext):
    from dataverse.tools.delete.expiry import expire_delete_proposal_orchestrator as orchestrate

    return (yield from orchestrate(context))


@app.function_name(ACTIVITY)
@app.activity_trigger(input_name="payload")
async def expire_delete_proposal(payload: dict) -> bool:
    from dataverse.tools.delete.expiry import expire_delete_proposal as expire

    return await expire(_shared_store(), payload)


@app.function_name("sweep_expired_rows")
@app.timer_trigger(schedule="0 */15 * * * *", arg_name="timer", run_on_startup=False)
async def sweep_expired_rows(timer: func.TimerRequest) -> None:
    from dataverse.oauth.models import COLLECTIONS
    from dataverse.tools.delete.expiry import purge_expired_rows
    from dataverse.tools.delete.proposals import PROPOSALS_COLLECTION

    await purge_expired_rows(_shared_store(), [*COLLECTIONS.values(), PROPOSALS_COLLECTION])
