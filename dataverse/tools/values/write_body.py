"""The request body of a create or update, from values as people say them: every column checked against the
table's metadata and converted (values/convert.py), lookups resolved (values/lookups.py), date-times read in the
user's time zone. Returns the body and the values as understood, for the result to show."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, InvalidValueError
from dataverse.tools.schema.lookup import get_datetime_behaviors, get_whoami
from dataverse.tools.schema.selection import LOOKUP_TYPES
from dataverse.tools.values.convert import CHOICE_TYPES, Operation, check_columns, convert_value, match_choice
from dataverse.tools.values.lookups import LookupResolver
from dataverse.tools.values.timezones import UnknownTimeZoneError, get_user_zone
from dataverse.webapi.models import ColumnMetadata, DateTimeBehavior, TableMetadata


async def write_body(call: ToolCall, metadata: TableMetadata, values: Mapping[str, Any], *,
                operation: Operation, record_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body and the values as understood (for the result)."""
    if not isinstance(values, Mapping) or not values:
        raise InvalidArgumentError("Pass `values`: an object of column logical name -> value, e.g. "
                                   "{\"jobtitle\": \"CFO\"}. describe_table lists the columns.")
    table = metadata.table.logical_name
    columns = check_columns(metadata, values, operation=operation)
    given = {name: values[key] for name, key in zip(columns, values, strict=True)}
    behaviors: dict[str, DateTimeBehavior] = {}
    zone: tzinfo | None = None
    zone_error: UnknownTimeZoneError | None = None
    if any(column.type == "DateTime" for column in columns.values()):
        behaviors = await get_datetime_behaviors(call, table)
        try:
            zone = get_user_zone((await get_whoami(call)).time_zone_code)
        except UnknownTimeZoneError as error:
            zone_error = error

    async def user_id() -> str:
        return (await get_whoami(call)).user_id

    resolver = LookupResolver(call, metadata, get_user_id=user_id)
    body: dict[str, Any] = {}
    understood: dict[str, Any] = {}
    for name, column in columns.items():
        value = given[name]
        if column.type in LOOKUP_TYPES:
            binding = await resolver.resolve(column, value, record_id=record_id)
            if binding.target is not None or operation == "update":
                body[binding.body_key] = binding.body_value
            target = binding.target
            understood[name] = None if target is None else {"table": target.table, "id": target.id} | (
                {"name": target.name} if target.name else {})
            continue
        try:
            converted = convert_value(column, value, table=table, behavior=behaviors.get(name), zone=zone)
        except InvalidValueError:
            if zone_error is not None and column.type == "DateTime":
                raise zone_error from None
            raise
        body[name] = converted
        understood[name] = _understood(column, converted)
    return body, understood



def _understood(column: ColumnMetadata, converted: Any) -> Any:
    if column.type in CHOICE_TYPES and converted is not None:
        return {"value": converted, "label": match_choice(column, converted, where=column.logical_name).label}
    return converted
