"""The sweeper: removes expired records for good, collection by collection (the timer trigger's body).

Reads already treat an expired record as absent; sweeping only reclaims the space. Each record goes with an
ETag-conditional delete (see `Collection.purge_expired`), so one renewed meanwhile survives. Which collections
expire is the caller's knowledge (`dataverse.jobs.EXPIRING_COLLECTIONS`): storage knows no collection by name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .protocol import Store

logger = logging.getLogger(__name__)


async def purge_expired_rows(store: Store, collections: Iterable[str], *, now: float | None = None) -> dict[str, int]:
    """Remove every expired row from each named collection; returns how many went from each.

    One collection failing does not stop the others; the first failure is raised after all were tried.
    """
    purged: dict[str, int] = {}
    failure: Exception | None = None
    for name in collections:
        try:
            purged[name] = await store.collection(name).purge_expired(now=now)
        except Exception as error:
            logger.warning("purging expired rows from %s failed", name, exc_info=True)
            failure = failure or error
    if failure is not None:
        raise failure
    return purged
