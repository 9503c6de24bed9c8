"""The one place dataverse.oauth touches storage: one `TypedCollection` per record kind (names in models.COLLECTIONS),
with absolute expiry times and every consume-once step done with an ETag, so that of two racing instances exactly
one wins (the loser sees storage's ConcurrencyError)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from dataverse.oauth.models import (
    COLLECTIONS,
    AccessTokenRecord,
    AuthCodeRecord,
    AuthTransaction,
    ClientRecord,
    Grant,
    RateWindowCount,
    RefreshTokenRecord,
    SharedDataverseToken,
    UpstreamAuthState,
)
from dataverse.storage.protocol import Store
from dataverse.storage.typed import TypedCollection

ModelT = TypeVar("ModelT", bound=BaseModel)


class OAuthRepository:
    """All proxy collections of one store."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self.clients = self._collection("clients", ClientRecord)
        self.transactions = self._collection("transactions", AuthTransaction)
        self.states = self._collection("states", UpstreamAuthState)
        self.codes = self._collection("codes", AuthCodeRecord)
        self.grants = self._collection("grants", Grant)
        self.refresh_tokens = self._collection("refresh_tokens", RefreshTokenRecord)
        self.access_tokens = self._collection("access_tokens", AccessTokenRecord)
        self.rate_limits = self._collection("rate_limits", RateWindowCount)
        self.dataverse_tokens = self._collection("dataverse_tokens", SharedDataverseToken)

    def _collection(self, kind: str, model: type[ModelT]) -> TypedCollection[ModelT]:
        return TypedCollection(self._store.collection(COLLECTIONS[kind]), model, clock=self._clock)
