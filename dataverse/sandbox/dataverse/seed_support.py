"""Small helpers every part of the seed shares: deterministic ids from the seed's `random.Random`, times of day
within working hours, user references, and the created/modified/owner stamp of a seeded row."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from dataverse.sandbox.dataverse.model import LookupValue, Row
from dataverse.sandbox.dataverse.state import SandboxOrganization


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def at(day: date, rng: random.Random) -> datetime:
    """A moment in working hours (UTC) on `day`."""
    return datetime(day.year, day.month, day.day, rng.randrange(8, 18), rng.randrange(60), rng.randrange(60),
                    tzinfo=UTC)


def user_ref(user_id: str) -> LookupValue:
    return LookupValue("systemuser", user_id)


def stamp(org: SandboxOrganization, row: Row, created: datetime, owner: LookupValue, creator: str) -> Row:
    """Set createdon (at least five minutes ago), modifiedon (a day later, never in the future), owner and creator."""
    created = min(created, org.now() - timedelta(minutes=5))
    modified = min(created + timedelta(days=1, hours=3), org.now())
    row.update(createdon=created, modifiedon=max(created, modified), ownerid=owner,
               createdby=user_ref(creator), modifiedby=user_ref(creator))
    return row
