"""Which messages (Create, Retrieve, RetrieveMultiple, Update, Delete) a table supports, and Dataverse's answer to
one it does not: "The 'Create' method does not support entities of type 'activitypointer'. MessageProcessorCache
returned MessageProcessor.Empty." (SdkEntityDoesNotSupportMessage, 0x80040800; the HTTP status, 400, is inferred).

From the table references' message lists: activitypointer has Retrieve and RetrieveMultiple only (activities are
written through their own tables), activityparty RetrieveMultiple only (parties are written through their activity's
`<activity>_activity_parties`), audit Retrieve and RetrieveMultiple (the log is written by the platform), and the
organization row can be read and updated but not created or deleted.
"""

from __future__ import annotations

from typing import Literal

from dataverse.sandbox.dataverse.model import SandboxError, Table

Message = Literal["Create", "Retrieve", "RetrieveMultiple", "Update", "Delete"]
NOT_SUPPORTED = "0x80040800"
SUPPORTED: dict[str, frozenset[str]] = {
    "activitypointer": frozenset({"Retrieve", "RetrieveMultiple"}),
    "activityparty": frozenset({"RetrieveMultiple"}),
    "audit": frozenset({"Retrieve", "RetrieveMultiple"}),
    "organization": frozenset({"Retrieve", "RetrieveMultiple", "Update"}),
}


def message_for(method: str, *, has_key: bool) -> Message | None:
    """The message an HTTP request on an entity set (or one record of it) asks for."""
    if method == "GET":
        return "Retrieve" if has_key else "RetrieveMultiple"
    if method == "POST" and not has_key:
        return "Create"
    if method in ("PATCH", "PUT") and has_key:
        return "Update"
    if method == "DELETE" and has_key:
        return "Delete"
    return None


def not_supported(table: Table, message: str) -> SandboxError:
    return SandboxError(400, NOT_SUPPORTED,
                        f"The '{message}' method does not support entities of type '{table.logical_name}'. "
                        "MessageProcessorCache returned MessageProcessor.Empty. ")


def require_supported(table: Table, method: str, *, has_key: bool) -> None:
    """Raise Dataverse's error when the table does not support the message the request asks for."""
    message = message_for(method, has_key=has_key)
    supported = SUPPORTED.get(table.logical_name)
    if message is not None and supported is not None and message not in supported:
        raise not_supported(table, message)
