"""All-or-nothing writes: `with transaction(org): ...` puts the organisation back as it was when the block raises,
as Dataverse rolls back a change set of `$batch` or an action whose later step fails (WinOpportunity creates the
close activity, then closes the opportunity; QualifyLead creates up to three records, then qualifies the lead) and a
deep insert whose later record fails. Rows, shares, N:N links and the audit log's entries all go back, so a
rolled-back write leaves no audit trace (`SandboxOrganization.snapshot`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dataverse.sandbox.dataverse.state import SandboxOrganization


@contextmanager
def transaction(org: SandboxOrganization) -> Iterator[None]:
    snapshot = org.snapshot()
    try:
        yield
    except BaseException:
        org.restore(snapshot)
        raise
