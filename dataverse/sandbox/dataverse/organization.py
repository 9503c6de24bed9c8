"""`create_sandbox_organization()`: a sandbox organisation holding the deterministic sample data for a seed.

The organisation's state (`SandboxOrganization`, in `state`) knows nothing of the sample data; `seed` fills one in.
This module puts the two together and is the public name for both.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time

from dataverse.sandbox.dataverse.seed import seed_organization
from dataverse.sandbox.dataverse.state import TIMEZONE_CODES, SandboxOrganization

__all__ = ["TIMEZONE_CODES", "SandboxOrganization", "create_sandbox_organization"]


def create_sandbox_organization(*, seed: int = 7, today: date | None = None,
                                clock: Callable[[], datetime] | None = None,
                                auditing: bool = True) -> SandboxOrganization:
    """A sandbox organisation with the deterministic sample data for `seed`, dated relative to `today`.

    With `today` given (and no clock) the clock is frozen at noon UTC that day, so tests are deterministic.
    `auditing=False` is an environment with auditing off (organizations.isauditenabled false): no change is recorded,
    the seeded history included. Turn it on or off later with `organization.audit.enabled = ...`, or as a System
    Administrator would, with `PATCH organizations(<organizationid>) {"isauditenabled": false}` (carol may).
    """
    if clock is None:
        if today is None:
            clock = lambda: datetime.now(UTC)  # noqa: E731
        else:
            frozen = datetime.combine(today, time(12, 0), UTC)
            clock = lambda: frozen  # noqa: E731
    organization = SandboxOrganization(clock=clock, today=today)
    organization.audit.enabled = auditing
    seed_organization(organization, random.Random(seed))
    return organization
