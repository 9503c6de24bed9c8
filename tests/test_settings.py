"""Settings read from the environment: the Dataverse retry budget."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dataverse.settings import Settings


def test_the_retry_budget_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATAVERSE_RETRY_BUDGET_SECONDS", "45.5")
    assert Settings().dataverse_retry_budget_seconds == 45.5


def test_the_retry_budget_defaults_to_twenty_seconds(monkeypatch):
    monkeypatch.delenv("DATAVERSE_RETRY_BUDGET_SECONDS", raising=False)
    assert Settings().dataverse_retry_budget_seconds == 20.0


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_a_retry_budget_that_is_not_a_finite_number_of_seconds_is_refused(monkeypatch, value):
    monkeypatch.setenv("DATAVERSE_RETRY_BUDGET_SECONDS", value)
    with pytest.raises(ValidationError, match="dataverse_retry_budget_seconds"):
        Settings()
