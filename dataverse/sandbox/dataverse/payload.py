"""Request bodies of creates and updates to row values, with Dataverse's validation: unknown properties, read-only
columns, `@odata.bind` on navigation properties (not columns), typed polymorphic names, lengths, choice values,
state/status pairs and required columns."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from dataverse.sandbox.dataverse.model import Column, LookupValue, ManyToOne, Row, SandboxError, Table
from dataverse.sandbox.dataverse.privileges import entity_schema_name
from dataverse.sandbox.dataverse.security import SecuredDataset, not_found

BAD_REQUEST = "0x80060888"
INVALID_ARGUMENT = "0x80040203"
OUT_OF_RANGE = "0x8004431a"
TOO_LONG = "0x80044331"
INVALID_STATE_STATUS = "0x80048408"  # InvalidStateCodeStatusCode
ENTITY_REFERENCE = "0x80048d19"
_BIND_TARGET = re.compile(r"(?:.*/)?([A-Za-z_]\w*)\(([0-9a-fA-F-]{36})\)$")
_EDM = {"String": "Edm.String", "Memo": "Edm.String", "Integer": "Edm.Int32", "BigInt": "Edm.Int64",
        "Money": "Edm.Decimal", "Decimal": "Edm.Decimal", "Double": "Edm.Double", "Boolean": "Edm.Boolean",
        "Picklist": "Edm.Int32", "State": "Edm.Int32", "Status": "Edm.Int32", "DateTime": "Edm.DateTimeOffset",
        "Uniqueidentifier": "Edm.Guid", "EntityName": "Edm.String"}
NOT_REQUIRED_ON_CREATE = {"ownerid", "statecode"}


def odata_payload_error(entity_set: str, detail: str) -> SandboxError:
    """400 0x80048d19: how Dataverse wraps an ODataException raised while reading a request body."""
    return SandboxError(400, ENTITY_REFERENCE,
                        f"Error identified in Payload provided by the user for Entity :'{entity_set}'  ---->  "
                        f"InnerException : Microsoft.OData.ODataException: {detail}")


def _undeclared(table: Table, name: str) -> SandboxError:
    """A `<name>@odata.bind` whose name is no navigation property, e.g. a lookup's logical name (SupportArticles-docs
    web-api-client-errors.md, "Error identified in Payload provided by the user for Entity")."""
    return odata_payload_error(table.entity_set,
                               f"An undeclared property '{name}' which only has property annotations in the payload "
                               "but no property value was found in the payload. In OData, only declared navigation "
                               "properties and declared named streams can be represented as properties without "
                               "values.")


def _unknown(table: Table, name: str) -> SandboxError:
    """A property the entity type does not have (web-api-client-errors.md, "Invalid property {property name} was
    found in entity"); the documented code is 0x0."""
    return SandboxError(400, "0x0",
                        "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid "
                        f"property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{table.logical_name}'. ---> "
                        "Microsoft.OData.ODataException: Does not support untyped value in non-open type.")


def _convert_error(column: Column, value: Any) -> SandboxError:
    edm = "Edm.Date" if column.date_only else _EDM.get(column.type, "Edm.String")
    return SandboxError(400, BAD_REQUEST, f"Cannot convert the literal '{value}' to the expected type '{edm}'.")


def coerce(table: Table, column: Column, value: Any) -> Any:
    """A JSON value as the row's Python-native value for `column`; raises SandboxError when it does not fit."""
    if value is None:
        return None
    kind = column.type
    if kind in ("String", "Memo", "EntityName"):
        if not isinstance(value, str):
            raise _convert_error(column, value)
        if column.max_length is not None and len(value) > column.max_length:
            raise SandboxError(400, TOO_LONG,
                               f"A validation error occurred. The length of the '{column.logical_name}' attribute of "
                               f"the '{table.logical_name}' entity exceeded the maximum allowed length of "
                               f"'{column.max_length}'.")
        return value
    if kind in ("Integer", "BigInt", "Picklist", "State", "Status"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _convert_error(column, value)
        if column.is_choice and column.option_label(value) is None:
            accepted = ",".join(str(option.value) for option in column.options)
            raise SandboxError(400, OUT_OF_RANGE,
                               f"A validation error occurred. The value {value} of '{column.logical_name}' on record "
                               f"of type '{table.logical_name}' is outside the valid range. Accepted Values: "
                               f"{accepted}")
        return value
    if kind in ("Money", "Decimal", "Double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _convert_error(column, value)
        return float(value)
    if kind == "Boolean":
        if not isinstance(value, bool):
            raise _convert_error(column, value)
        return value
    if kind == "DateTime":
        return _parse_datetime(column, value)
    if kind == "Uniqueidentifier":
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
            raise _convert_error(column, value)
        return value.lower()
    raise _convert_error(column, value)


def _parse_datetime(column: Column, value: Any) -> date | datetime:
    if not isinstance(value, str):
        raise _convert_error(column, value)
    try:
        if column.date_only:
            return date.fromisoformat(value[:10])
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _convert_error(column, value) from error
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)


def _bind(dataset: SecuredDataset, table: Table, navigation: str, value: Any) -> tuple[str, LookupValue | None]:
    relationships = [rel for rel in table.many_to_one if rel.navigation_property == navigation]
    if not relationships:
        raise _undeclared(table, navigation)
    column = table.columns[relationships[0].referencing_attribute]
    if value is None:
        return column.logical_name, None
    match = _BIND_TARGET.match(value) if isinstance(value, str) else None
    if match is None:
        raise SandboxError(400, BAD_REQUEST, f"The value '{value}' of '{navigation}@odata.bind' is not a valid "
                                             "entity reference. Use '/<entityset>(<guid>)'.")
    entity_set, row_id = match.group(1), match.group(2).lower()
    try:
        target = dataset.table_by_entity_set(entity_set)
    except KeyError:
        raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{entity_set}'.") from None
    allowed: list[ManyToOne] = [rel for rel in relationships if rel.referenced_entity == target.logical_name]
    if not allowed:
        raise SandboxError(400, BAD_REQUEST,
                           f"A navigation link '{navigation}' was found for entity type "
                           f"'Microsoft.Dynamics.CRM.{target.logical_name}', but it expects "
                           f"'Microsoft.Dynamics.CRM.{relationships[0].referenced_entity}'.")
    if dataset.get(target.logical_name, row_id) is None:
        raise not_found(target, row_id)
    return column.logical_name, LookupValue(target.logical_name, row_id)


def values_from_payload(dataset: SecuredDataset, table: Table, body: dict[str, Any], *, creating: bool) -> Row:
    """The column values a create/update body sets (None clears); raises SandboxError on anything Dataverse rejects.

    A column not valid for the operation is ignored, not refused ("If you try to set a value in a create or update
    operation for a column that isn't valid for that operation, the value is ignored.", PD
    entity-attribute-metadata.md). A single-valued navigation property set to null clears its lookup
    (associate-disassociate-entities-using-web-api.md, "Disassociate tables on update")."""
    values: Row = {}
    for key, value in body.items():
        if key.startswith("@odata."):
            continue
        if "@" in key:
            name, _, annotation = key.partition("@")
            if annotation != "odata.bind":
                continue
            if name in table.columns and not any(rel.navigation_property == name for rel in table.many_to_one):
                raise _undeclared(table, name)
            column_name, lookup = _bind(dataset, table, name, value)
            bound = table.columns[column_name]
            if bound.valid_for_create if creating else bound.valid_for_update:
                values[column_name] = lookup
            continue
        navigation = next((rel for rel in table.many_to_one if rel.navigation_property == key), None)
        if navigation is not None and value is None:
            lookup_column = table.columns[navigation.referencing_attribute]
            if lookup_column.valid_for_create if creating else lookup_column.valid_for_update:
                values[lookup_column.logical_name] = None
            continue
        column = table.columns.get(key)
        if (column is None and table.column(key) is not None) or (column is not None and column.is_lookup):
            raise SandboxError(400, ENTITY_REFERENCE, "CRM do not support direct update of Entity Reference "
                                                      "properties, Use Navigation properties instead.")
        if column is None:
            raise _unknown(table, key)
        if column.valid_for_create if creating else column.valid_for_update:
            values[key] = coerce(table, column, value)
    return values


def settle_state(table: Table, row: Row) -> None:
    """Fill statecode/statuscode defaults and reject a status reason that does not belong to the state."""
    state_column, status_column = table.columns.get("statecode"), table.columns.get("statuscode")
    if state_column is None:
        return
    if row.get("statecode") is None:
        row["statecode"] = state_column.options[0].value
    if status_column is None or not status_column.options:
        return
    valid = [option.value for option in status_column.options if option.state == row["statecode"]]
    if row.get("statuscode") is None or (row["statuscode"] not in valid and valid):
        if row.get("statuscode") is not None and row["statuscode"] not in valid:
            raise SandboxError(400, INVALID_STATE_STATUS,
                               f"{row['statuscode']} is not a valid status code for state code "
                               f"{entity_schema_name(table)}State.{state_column.option_label(row['statecode'])} on "
                               f"{table.logical_name} with Id {row.get(table.primary_id)}.")
        row["statuscode"] = valid[0] if valid else None


def check_required(table: Table, row: Row) -> None:
    """Refuse a row missing a SystemRequired value. Only SystemRequired is enforced: "Dataverse doesn't return an
    error when a column with ApplicationRequired applied doesn't have a value" (PD entity-attribute-metadata.md,
    "Column requirement level"); ApplicationRequired is a model-driven form rule."""
    for column in table.columns.values():
        if column.required != "SystemRequired" or not column.valid_for_create:
            continue
        if column.logical_name == table.primary_id or column.logical_name in NOT_REQUIRED_ON_CREATE:
            continue
        if row.get(column.logical_name) in (None, ""):
            raise SandboxError(400, INVALID_ARGUMENT,
                               f"A value for the required column '{column.logical_name}' of the "
                               f"'{table.logical_name}' entity was not provided.")
