"""Helpers for registering tools: a tool function's visible signature without a parameter the deployment does not
offer (the `environment` parameter when only one environment is configured)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


def without_parameter(fn: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
    """`fn` with parameter `name` removed from its visible signature (so it is absent from the input schema)."""
    signature = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    async def wrapper(**kwargs: Any) -> Any:
        return await fn(**kwargs)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != name]
    )
    del wrapper.__wrapped__  # inspect must not look through to the original signature
    return wrapper
