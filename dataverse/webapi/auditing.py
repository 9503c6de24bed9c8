"""Whether Dataverse records changes: auditing must be on for the environment (`organizations.isauditenabled`) and
for the table (`EntityDefinitions.IsAuditEnabled`, a BooleanManagedProperty) before any change is recorded
(PD `auditing/configure.md`). Reading either needs only ordinary read access."""

from __future__ import annotations

from typing import Any

from .metadata import GetJson, entity_definition_path


async def get_auditing(get_json: GetJson, logical_name: str) -> tuple[bool, bool]:
    """(on for the environment, on for the table). A table whose setting cannot be read counts as on: the history
    itself then says what was recorded."""
    organizations = await get_json("organizations", {"$select": "isauditenabled"})
    rows = organizations.get("value") if isinstance(organizations, dict) else None
    environment_on = bool(rows and isinstance(rows[0], dict) and rows[0].get("isauditenabled"))
    definition = await get_json(entity_definition_path(logical_name), {"$select": "IsAuditEnabled"})
    return environment_on, _managed_flag(definition.get("IsAuditEnabled") if isinstance(definition, dict) else None)


def _managed_flag(value: Any) -> bool:
    """A BooleanManagedProperty ({"Value": true, ...}) or a plain boolean; missing counts as on."""
    if isinstance(value, dict):
        value = value.get("Value")
    return value is not False
