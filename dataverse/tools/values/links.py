"""Links that open a record in the Dataverse app (`main.aspx`), the one place their form is decided."""

from __future__ import annotations


def record_url(environment: str, table: str, record_id: str) -> str:
    """The record's page in the Dataverse app."""
    return f"{environment}/main.aspx?pagetype=entityrecord&etn={table}&id={record_id}"
