"""The jobs facade: what the Azure Functions edge runs besides serving HTTP. function_app.py reaches it as
`dataverse.app.jobs`, so the edge imports one module of the package and knows nothing of where each job lives.

    store_from_settings(settings)     the store (Table Storage in Azure) the app, the activity and the sweeper share
    ORCHESTRATOR_NAME, ACTIVITY_NAME  the durable functions that expire an unconfirmed proposal (delete, bulk change)
    expiry_input(key, expires_at)     their input, as the HTTP app's scheduler starts the orchestration with it
    orchestrate_expiry(context)       the orchestrator: a durable timer until the proposal's deadline, then the activity
    expire_proposal(store, payload)   the activity: tombstone the proposal if it is still pending and due
    EXPIRING_COLLECTIONS              every collection whose rows expire: the OAuth proxy's state and proposals
    sweep_expired_rows(store)         the timer's body: purge the expired rows of all of them
"""

from __future__ import annotations

from typing import Any

from dataverse.oauth.models import COLLECTIONS
from dataverse.settings import Settings
from dataverse.storage import create_store
from dataverse.storage.protocol import Store
from dataverse.storage.sweep import purge_expired_rows
from dataverse.tools.confirm.expiry import ACTIVITY_NAME, ORCHESTRATOR_NAME, expiry_input
from dataverse.tools.confirm.expiry import expire_proposal as expire_stored_proposal
from dataverse.tools.confirm.expiry import expire_proposal_orchestrator as orchestrate_expiry
from dataverse.tools.confirm.proposals import PROPOSALS_COLLECTION

__all__ = [
    "ACTIVITY_NAME",
    "EXPIRING_COLLECTIONS",
    "ORCHESTRATOR_NAME",
    "Store",
    "expire_proposal",
    "expiry_input",
    "orchestrate_expiry",
    "store_from_settings",
    "sweep_expired_rows",
]

EXPIRING_COLLECTIONS: tuple[str, ...] = (*COLLECTIONS.values(), PROPOSALS_COLLECTION)


def store_from_settings(settings: Settings | None = None) -> Store:
    """Table Storage from the settings (a connection string, or an endpoint with the managed identity); an in-memory
    store when neither is set. Settings are read from the environment when not given."""
    settings = settings or Settings()
    return create_store(
        connection_string=settings.storage_connection_string,
        endpoint=settings.storage_table_endpoint,
        managed_identity_client_id=settings.managed_identity_client_id,
    )


async def expire_proposal(store: Store, payload: dict[str, Any]) -> bool:
    """The expiry activity: True when it tombstoned a pending, overdue proposal (and audited it)."""
    return await expire_stored_proposal(store, payload)


async def sweep_expired_rows(store: Store, *, now: float | None = None) -> dict[str, int]:
    """Purge the expired rows of every expiring collection; how many went from each (the first failure is raised
    after every collection was tried)."""
    return await purge_expired_rows(store, EXPIRING_COLLECTIONS, now=now)
