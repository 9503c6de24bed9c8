"""Proposals: the stored first step of every change that takes two (a delete, a bulk change), and their tokens.

A proposal is bound to one user (Entra oid) and one environment, and holds what the confirmation will do (`action`):
a `DeleteAction` (one record and its ETag at proposal time) or a `BulkAction` (the rows to write, each update with the
row's ETag). The model sees a single-use confirmation token (`secrets.token_urlsafe(32)`, 256 random bits); storage
keeps only the token's SHA-256, as the key of the "proposals" collection, so a leaked table holds no usable token.

Expiry is checked on every confirmation, against `expires_at`; the durable timer (expiry.py) is cleanup. The stored
row outlives `expires_at` by `TOMBSTONE_SECONDS` so that a late confirmation reads "expired", not "unknown": when the
timer fires it overwrites the proposal with a tombstone (status "expired", the action dropped).

The errors a confirmation can end in are drawn here, once:

    ProposalError(DataverseToolError)     base: every refusal of a confirmation
    ├── ProposalExpiredError              the token's lifetime is over (audit outcome "expired")
    ├── ProposalUsedError                 already confirmed, never issued, or issued for another kind of change
    ├── ProposalNotYoursError             issued to another user (audit outcome "denied"); still usable by its owner
    ├── RecordChangedError                the record changed or vanished since the proposal; nothing was deleted
    └── DeleteFailedError                 Dataverse refused or failed the change after the token was consumed
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dataverse.storage.protocol import Store
from dataverse.storage.typed import Stored, TypedCollection
from dataverse.tools.kit.errors import DataverseToolError

PROPOSALS_COLLECTION = "proposals"
TOMBSTONE_SECONDS = 900  # how long a proposal (or its tombstone) is kept after it expires
TOKEN_BYTES = 32


class ProposalError(DataverseToolError):
    """A confirmation refused: the message says why and what to do next."""

    audit_outcome = "error"


class ProposalExpiredError(ProposalError):
    audit_outcome = "expired"


class ProposalUsedError(ProposalError):
    audit_outcome = "error"


class ProposalNotYoursError(ProposalError):
    audit_outcome = "denied"


class RecordChangedError(ProposalError):
    audit_outcome = "error"


class DeleteFailedError(ProposalError):
    audit_outcome = "error"


# --- the records -----------------------------------------------------------------------------------------------------


class CascadeCount(BaseModel):
    """Related records of one table that a delete removes too (one Cascade relationship)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(description="The related table whose records are deleted along with this one.")
    relationship: str
    count: int = Field(description="How many the signed-in user can see (at most `capped_at`).")
    capped: bool | None = Field(None, description="True when there are at least this many (the count stopped).")


class ImpactSummary(BaseModel):
    """What the user is about to delete."""

    model_config = ConfigDict(extra="forbid")

    table: str
    id: str
    name: str | None = Field(None, description="The record's primary name.")
    owner: str | None = Field(None, description="The owning user or team.")
    created_on: str | None = None
    modified_on: str | None = None
    cascades: list[CascadeCount] = Field(
        default_factory=list, description="Related records deleted with it (directly related; they may cascade on)."
    )


class DeleteAction(BaseModel):
    """Delete one record, if it still has the ETag it had when the delete was proposed."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["delete"] = "delete"
    entity_set: str
    primary_id: str
    record_id: str
    etag: str  # the record's @odata.etag at proposal time (sent as If-Match on delete)
    impact: ImpactSummary


class BulkRow(BaseModel):
    """One row of a bulk change: the Web API body to send, and for an update the record and its ETag."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None  # update: the record's id
    etag: str | None = None  # update: the record's ETag at proposal time (If-Match)
    body: dict[str, Any]


class BulkAction(BaseModel):
    """Create or update many rows of one table in `$batch` change sets."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["bulk"] = "bulk"
    operation: Literal["create", "update"]
    entity_set: str
    primary_id: str
    atomic: bool
    rows: list[BulkRow]


Action = Annotated[DeleteAction | BulkAction, Field(discriminator="kind")]


class Proposal(BaseModel):
    """One stored proposal (or, with status "expired" and no action, its tombstone)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "expired"] = "pending"
    user_oid: str
    environment: str
    table: str
    created_at: float
    expires_at: float
    action: Action | None = None  # dropped from the tombstone

    @property
    def record_id(self) -> str | None:
        """The one record a delete proposal is about (for the audit log)."""
        return self.action.record_id if isinstance(self.action, DeleteAction) else None

    def is_expired(self, now: float) -> bool:
        return self.status == "expired" or now >= self.expires_at

    def tombstone(self) -> Proposal:
        return self.model_copy(update={"status": "expired", "action": None})


def new_confirmation_token() -> str:
    """A fresh single-use token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def proposal_key(token: str) -> str:
    """The storage key for a token: its SHA-256, hex. The token itself is never stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def iso_utc(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- storage ---------------------------------------------------------------------------------------------------------


class ProposalBook:
    """The "proposals" collection, read and written as `Proposal`s through storage's typed adapter.

    Rows are stored until `expires_at + TOMBSTONE_SECONDS` (absolute instants), read with their ETag, and consumed
    once; the time arguments are the caller's reading of its clock (default: `clock`).
    """

    def __init__(
        self,
        store: Store,
        *,
        collection_name: str = PROPOSALS_COLLECTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._proposals = TypedCollection(store.collection(collection_name), Proposal, clock=clock)
        self._clock = clock

    async def create_proposal(self, proposal: Proposal, *, now: float) -> tuple[str, str]:
        """Store `proposal` under a new token's hash; returns (token, key). The row lives until
        `expires_at + TOMBSTONE_SECONDS`."""
        token = new_confirmation_token()
        key = proposal_key(token)
        kept_until = max(proposal.expires_at, now) + TOMBSTONE_SECONDS
        await self._proposals.create(key, proposal, expires_at=kept_until, now=now)
        return token, key

    async def get_proposal(self, key: str) -> Stored[Proposal] | None:
        """(proposal, etag), or None when there is no row under `key` (used, never issued, or long gone)."""
        return await self._proposals.get(key)

    async def consume_proposal(self, key: str) -> Stored[Proposal] | None:
        """Atomically take the row, with the ETag it had: exactly one of any number of racing callers gets it."""
        return await self._proposals.consume(key)

    async def replace_with_tombstone(
        self, key: str, proposal: Proposal, *, etag: str, now: float | None = None
    ) -> None:
        """Overwrite the pending proposal read with `etag` by its tombstone, kept `TOMBSTONE_SECONDS` from `now`.
        Storage's ConcurrencyError when someone confirmed (consumed) or expired it first; a consumed one raises
        RecordGoneError, which is also a RecordNotFoundError."""
        instant = self._clock() if now is None else now
        await self._proposals.replace(
            key, proposal.tombstone(), etag=etag, expires_at=instant + TOMBSTONE_SECONDS, now=instant
        )
