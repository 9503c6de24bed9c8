"""Table metadata: which Web API requests describe a table, and how their JSON becomes TableMetadata.

`get_table_metadata` issues its requests concurrently (one round trip): the entity definition, its attributes, the
typed attribute casts that carry choices, lookup targets and lengths, both one-to-many directions and the
many-to-many relationships.
`get_table_columns` is the one-request subset reading needs: the definition with its attributes' names and types.
`get_datetime_behaviors` is what writing dates needs: how each DateTime column stores its values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .models import (
    ChoiceOption,
    ColumnMetadata,
    DateTimeBehavior,
    ManyToManyRelationship,
    ManyToOneRelationship,
    OneToManyRelationship,
    TableColumns,
    TableMetadata,
    TableSummary,
)
from .odata import quote_string, validate_logical_name

GetJson = Callable[[str, Mapping[str, str]], Awaitable[Any]]

TABLE_SELECT = "LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute,Description"
TABLE_LIST_FILTER = "IsPrivate eq false and IsIntersect eq false"
ATTRIBUTE_SELECT = (
    "LogicalName,AttributeType,AttributeTypeName,DisplayName,RequiredLevel,IsValidForCreate,IsValidForUpdate,"
    "AttributeOf"
)
MANY_TO_ONE_SELECT = (
    "SchemaName,ReferencingAttribute,ReferencedEntity,ReferencedAttribute,ReferencingEntityNavigationPropertyName"
)
ONE_TO_MANY_SELECT = (
    "SchemaName,ReferencingEntity,ReferencingAttribute,ReferencedEntityNavigationPropertyName,CascadeConfiguration"
)
MANY_TO_MANY_SELECT = (
    "SchemaName,Entity1LogicalName,Entity2LogicalName,IntersectEntityName,Entity1NavigationPropertyName,"
    "Entity2NavigationPropertyName"
)
_CASTS: dict[str, dict[str, str]] = {
    "PicklistAttributeMetadata": {"$select": "LogicalName", "$expand": "OptionSet,GlobalOptionSet"},
    "MultiSelectPicklistAttributeMetadata": {"$select": "LogicalName", "$expand": "OptionSet,GlobalOptionSet"},
    "StateAttributeMetadata": {"$select": "LogicalName", "$expand": "OptionSet"},
    "StatusAttributeMetadata": {"$select": "LogicalName", "$expand": "OptionSet"},
    "BooleanAttributeMetadata": {"$select": "LogicalName", "$expand": "OptionSet"},
    "LookupAttributeMetadata": {"$select": "LogicalName,Targets"},
    "StringAttributeMetadata": {"$select": "LogicalName,MaxLength"},
    "MemoAttributeMetadata": {"$select": "LogicalName,MaxLength"},
}
DATETIME_CAST = "Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata"
DATETIME_SELECT = "LogicalName,Format,DateTimeBehavior"


def entity_definition_path(logical_name: str) -> str:
    return f"EntityDefinitions(LogicalName={quote_string(validate_logical_name(logical_name))})"


async def list_table_summaries(get_json: GetJson) -> list[TableSummary]:
    """Every public, non-intersect table, sorted by logical name (the endpoint allows no $orderby)."""
    body = await get_json("EntityDefinitions", {"$select": TABLE_SELECT, "$filter": TABLE_LIST_FILTER})
    tables = [parse_table_summary(row) for row in _rows(body) if row.get("EntitySetName")]
    return sorted(tables, key=lambda table: table.logical_name)


async def get_table_columns(get_json: GetJson, logical_name: str) -> TableColumns:
    """The entity definition with its attributes expanded: names and types, in one request (no casts, no
    relationships)."""
    body = await get_json(entity_definition_path(logical_name), {
        "$select": f"{TABLE_SELECT},IsPrivate,IsIntersect", "$expand": f"Attributes($select={ATTRIBUTE_SELECT})",
    })
    attributes = [row for row in body.get("Attributes") or [] if isinstance(row, dict)]
    listed = bool(body.get("EntitySetName")) and not body.get("IsPrivate") and not body.get("IsIntersect")
    return TableColumns(table=parse_table_summary(body), columns=parse_columns(attributes, {}), listed=listed)


async def get_table_metadata(get_json: GetJson, logical_name: str) -> TableMetadata:
    base = entity_definition_path(logical_name)
    cast_names = list(_CASTS)
    results = await asyncio.gather(
        get_json(base, {"$select": TABLE_SELECT}),
        get_json(f"{base}/Attributes", {"$select": ATTRIBUTE_SELECT}),
        get_json(f"{base}/ManyToOneRelationships", {"$select": MANY_TO_ONE_SELECT}),
        get_json(f"{base}/OneToManyRelationships", {"$select": ONE_TO_MANY_SELECT}),
        get_json(f"{base}/ManyToManyRelationships", {"$select": MANY_TO_MANY_SELECT}),
        *(get_json(f"{base}/Attributes/Microsoft.Dynamics.CRM.{cast}", _CASTS[cast]) for cast in cast_names),
    )
    entity, attributes, many_to_one, one_to_many, many_to_many, *cast_bodies = results
    casts = {cast: _rows(body) for cast, body in zip(cast_names, cast_bodies, strict=True)}
    return TableMetadata(
        table=parse_table_summary(entity),
        columns=parse_columns(_rows(attributes), casts),
        many_to_one=[parse_many_to_one(row) for row in _rows(many_to_one)],
        one_to_many=[parse_one_to_many(row) for row in _rows(one_to_many)],
        many_to_many=[parse_many_to_many(row) for row in _rows(many_to_many)],
    )


async def get_datetime_behaviors(get_json: GetJson, logical_name: str) -> dict[str, DateTimeBehavior]:
    """Each DateTime column of the table (by logical name) and how it stores values, in one request."""
    body = await get_json(f"{entity_definition_path(logical_name)}/{DATETIME_CAST}", {"$select": DATETIME_SELECT})
    return parse_datetime_behaviors(_rows(body))


def parse_datetime_behaviors(rows: list[dict[str, Any]]) -> dict[str, DateTimeBehavior]:
    """DateOnly when either the behaviour or the older `Format` says so; TimeZoneIndependent from the behaviour."""
    behaviors = {}
    for row in rows:
        name = row.get("LogicalName")
        if not isinstance(name, str) or not name:
            continue
        behavior = row.get("DateTimeBehavior")
        value = behavior.get("Value") if isinstance(behavior, dict) else None
        behaviors[name] = DateTimeBehavior(
            date_only=value == "DateOnly" or row.get("Format") == "DateOnly",
            time_zone_independent=value == "TimeZoneIndependent",
        )
    return behaviors


def label_text(label: Any) -> str | None:
    """The user's label from a Dataverse Label object, else the first localized one, else None."""
    if not isinstance(label, dict):
        return None
    user = label.get("UserLocalizedLabel")
    if isinstance(user, dict) and user.get("Label"):
        return str(user["Label"])
    for localized in label.get("LocalizedLabels") or []:
        if isinstance(localized, dict) and localized.get("Label"):
            return str(localized["Label"])
    return None


def parse_table_summary(row: Mapping[str, Any]) -> TableSummary:
    return TableSummary(
        logical_name=row["LogicalName"],
        entity_set=row.get("EntitySetName") or "",
        display_name=label_text(row.get("DisplayName")),
        primary_id=row.get("PrimaryIdAttribute") or "",
        primary_name=row.get("PrimaryNameAttribute") or None,
        description=label_text(row.get("Description")),
    )


def parse_columns(attributes: list[dict[str, Any]], casts: Mapping[str, list[dict[str, Any]]]) -> list[ColumnMetadata]:
    """Columns from the Attributes rows, enriched with the typed casts; virtual `...name` shadows are dropped."""
    options: dict[str, list[ChoiceOption]] = {}
    for cast in (
        "PicklistAttributeMetadata",
        "MultiSelectPicklistAttributeMetadata",
        "StateAttributeMetadata",
        "StatusAttributeMetadata",
    ):
        for row in casts.get(cast, []):
            option_set = row.get("OptionSet") or row.get("GlobalOptionSet") or {}
            options[row["LogicalName"]] = [parse_option(option) for option in option_set.get("Options") or []]
    for row in casts.get("BooleanAttributeMetadata", []):
        option_set = row.get("OptionSet") or {}
        options[row["LogicalName"]] = [
            parse_option(option_set[key]) for key in ("FalseOption", "TrueOption") if option_set.get(key)
        ]
    targets = {row["LogicalName"]: list(row.get("Targets") or []) for row in casts.get("LookupAttributeMetadata", [])}
    lengths = {
        row["LogicalName"]: row.get("MaxLength")
        for cast in ("StringAttributeMetadata", "MemoAttributeMetadata")
        for row in casts.get(cast, [])
    }
    columns = []
    for row in attributes:
        if row.get("AttributeOf"):
            continue
        name = row["LogicalName"]
        columns.append(
            ColumnMetadata(
                logical_name=name,
                type=_attribute_type(row),
                display_name=label_text(row.get("DisplayName")),
                required_level=(row.get("RequiredLevel") or {}).get("Value") or "None",
                valid_for_create=bool(row.get("IsValidForCreate")),
                valid_for_update=bool(row.get("IsValidForUpdate")),
                options=options.get(name),
                targets=targets.get(name),
                max_length=lengths.get(name),
            )
        )
    return sorted(columns, key=lambda column: column.logical_name)


def parse_option(option: Mapping[str, Any]) -> ChoiceOption:
    value = int(option["Value"])
    state = option.get("State")
    return ChoiceOption(
        value=value,
        label=label_text(option.get("Label")) or str(value),
        state=int(state) if state is not None else None,
    )


def parse_many_to_one(row: Mapping[str, Any]) -> ManyToOneRelationship:
    return ManyToOneRelationship(
        schema_name=row["SchemaName"],
        referencing_attribute=row["ReferencingAttribute"],
        referenced_entity=row["ReferencedEntity"],
        referenced_attribute=row.get("ReferencedAttribute") or "",
        navigation_property=row.get("ReferencingEntityNavigationPropertyName") or "",
    )


def parse_one_to_many(row: Mapping[str, Any]) -> OneToManyRelationship:
    cascade = row.get("CascadeConfiguration") or {}
    return OneToManyRelationship(
        schema_name=row["SchemaName"],
        referencing_entity=row["ReferencingEntity"],
        referencing_attribute=row["ReferencingAttribute"],
        navigation_property=row.get("ReferencedEntityNavigationPropertyName") or "",
        cascade_delete=cascade.get("Delete") or "NoCascade",
    )


def parse_many_to_many(row: Mapping[str, Any]) -> ManyToManyRelationship:
    return ManyToManyRelationship(
        schema_name=row["SchemaName"],
        entity1=row.get("Entity1LogicalName") or "",
        entity2=row.get("Entity2LogicalName") or "",
        intersect_entity=row.get("IntersectEntityName") or "",
        entity1_navigation=row.get("Entity1NavigationPropertyName") or "",
        entity2_navigation=row.get("Entity2NavigationPropertyName") or "",
    )


def _attribute_type(row: Mapping[str, Any]) -> str:
    type_name = (row.get("AttributeTypeName") or {}).get("Value")
    if type_name == "MultiSelectPicklistType":
        return "MultiSelectPicklist"
    return row.get("AttributeType") or "Virtual"


def _rows(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return [row for row in body["value"] if isinstance(row, dict)]
    return []
