"""The operations the administrator allows (ACTION_ALLOWLIST), with their definitions from the environment's CSDL
`$metadata`, read once per environment and cached for the server's life (the document is large; the set of actions
changes only with a solution import, and refresh_schema does not need to cover it)."""

from __future__ import annotations

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, nearest_names
from dataverse.webapi.models import ActionDefinition


class ActionCatalog:
    """The allowed operation names and, per environment, their definitions."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._definitions: dict[str, list[ActionDefinition]] = {}

    async def definitions(self, call: ToolCall) -> list[ActionDefinition]:
        cached = self._definitions.get(call.environment)
        if cached is None:
            with dataverse_errors():
                cached = [definition for definition in await call.client.list_operations()
                          if definition.name in self.names]
            self._definitions[call.environment] = cached
        return cached


def allowed_operation(catalog: ActionCatalog, definitions: list[ActionDefinition], name: str) -> ActionDefinition:
    """The definition of the allowed operation `name` (case-insensitive); a refusal naming the allowed ones."""
    wanted = (name or "").strip()
    for definition in definitions:
        if definition.name.lower() == wanted.lower():
            return definition
    if wanted.lower() in {allowed.lower() for allowed in catalog.names}:
        raise InvalidArgumentError(f"{wanted} is allowed here but this environment has no such operation.")
    close = nearest_names(wanted, catalog.names, limit=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InvalidArgumentError(f"{wanted!r} is not an action this connector may run.{hint} Allowed: "
                               f"{', '.join(catalog.names)}.")
