"""Azure Functions composition root: one catch-all HTTP trigger that serves the ASGI app. Thin by design.

The ASGI app is built on the first request (not at import) so a cold start pays only for importing this file and
`azure.functions`; the app's own imports and settings validation happen once, on first use.
"""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_middleware: func.AsgiMiddleware | None = None
_started = False


def _build_asgi_app():  # replaced in tests via use_asgi_app()
    from dataverse.app import create_app_from_environment

    return create_app_from_environment()


def use_asgi_app(asgi_app) -> None:
    """Serve this ASGI app instead of building one from the environment (tests, custom hosting); None resets."""
    global _middleware, _started
    _middleware = func.AsgiMiddleware(asgi_app) if asgi_app is not None else None
    _started = False


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
async def http(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    middleware = await _ready_middleware()
    return await middleware.handle_async(req, context)
