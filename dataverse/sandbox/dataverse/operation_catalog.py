"""Every action and function the sandbox serves, by name (names are case-sensitive, as in Dataverse). The CSDL
`$metadata` document is written from this catalog and the dispatcher routes through it, so both always agree: a
function answers only GET and an action only POST (any other verb is 404 "No HTTP resource was found"), wherever
it is declared (WhoAmI and the other functions here, the audit functions in audit_routes, the sales actions)."""

from __future__ import annotations

from dataverse.sandbox.dataverse import audit_routes, function_operations, lead_actions, opportunity_actions
from dataverse.sandbox.dataverse.operations import Operation

OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for operation in (*function_operations.OPERATIONS, *audit_routes.OPERATIONS, *opportunity_actions.OPERATIONS,
                      *lead_actions.OPERATIONS)
}


def unbound_operation(name: str) -> Operation | None:
    operation = OPERATIONS.get(name)
    return operation if operation is not None and not operation.is_bound else None


def bound_operation(name: str, logical_name: str, *, collection: bool) -> Operation | None:
    """The operation `name` bound to `logical_name` records (or to its collection)."""
    operation = OPERATIONS.get(name)
    if operation is None or operation.bound_to != logical_name or operation.bound_to_collection != collection:
        return None
    return operation
