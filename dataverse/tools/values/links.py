"""Links that open a record in the model-driven app (`main.aspx`), the one place their form is decided. With
MODEL_DRIVEN_APP_ID configured the link opens the record inside that app (`appid=`), as users expect; without it,
Dataverse picks the user's default app."""

from __future__ import annotations

from dataverse.tools.kit.context import ToolCall

ID_PLACEHOLDER = "{id}"


def record_url(call: ToolCall, table: str, record_id: str) -> str:
    """The record's page in the Dataverse app."""
    app = call.settings.model_driven_app_id
    prefix = f"appid={app}&" if app else ""
    return f"{call.environment}/main.aspx?{prefix}pagetype=entityrecord&etn={table}&id={record_id}"


def record_link_template(call: ToolCall, table: str) -> str:
    """The link for any record of `table`, with `{id}` where the record's id goes (one per result, not per row)."""
    return record_url(call, table, ID_PLACEHOLDER)
