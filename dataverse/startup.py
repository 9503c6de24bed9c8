"""Cold-start help: build the app without the garbage collector rescanning it.

Importing the package and building the app allocate a few hundred thousand long-lived objects (modules, classes,
pydantic schemas, MCP tool models). Every automatic collection those allocations trigger rescans the survivors, and
on a cold instance that is paid before the first answer. `collector_paused()` turns automatic collection off for the
block, then freezes everything alive into the permanent generation (never rescanned: the app lives as long as the
process) and turns collection back on. `make bench` measures the effect on the first answered tools/call.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
