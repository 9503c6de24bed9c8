"""Schema objects as Dataverse metadata JSON: EntityMetadata, the typed AttributeMetadata (with OptionSet for choices),
OneToManyRelationshipMetadata, ManyToManyRelationshipMetadata, and Label objects (LocalizedLabels +
UserLocalizedLabel), with stable MetadataIds."""

from __future__ import annotations

import uuid
from typing import Any

from dataverse.sandbox.dataverse.model import Column, ManyToMany, ManyToOne, OneToMany, Table

_NAMESPACE = uuid.UUID("0b9a6f2e-6d1c-4f35-9a55-5a4db0c0f001")
ATTRIBUTE_TYPES = {
    "String": "StringAttributeMetadata", "Memo": "MemoAttributeMetadata", "Integer": "IntegerAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata", "Money": "MoneyAttributeMetadata", "Decimal": "DecimalAttributeMetadata",
    "Double": "DoubleAttributeMetadata", "DateTime": "DateTimeAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata", "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata", "Status": "StatusAttributeMetadata", "Lookup": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata", "Owner": "LookupAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata", "EntityName": "EntityNameAttributeMetadata",
}
OBJECT_TYPE_CODES = {"account": 1, "contact": 2, "opportunity": 3, "lead": 4, "businessunit": 10, "systemuser": 8,
                     "team": 9, "usersettings": 150, "appointment": 4201, "task": 4212, "phonecall": 4210,
                     "email": 4202, "activitypointer": 4200, "activityparty": 135, "annotation": 5,
                     "savedquery": 1039, "userquery": 4230, "audit": 4567, "organization": 1019,
                     "role": 1036, "opportunityclose": 4208, "competitor": 123, "list": 4300}
NOTE_TABLES = frozenset({"account", "contact", "opportunity", "lead"})


def column_number(table: Table, name: str) -> int:
    """AttributeMetadata.ColumnNumber: the column's position in the table (1-based), as audit attributemasks use."""
    return list(table.columns).index(name) + 1 if name in table.columns else 0


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def label(text: str, *parts: str) -> dict[str, Any]:
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": True,
                 "MetadataId": metadata_id("label", *parts), "HasChanged": None}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": dict(localized)}


def _managed(value: Any, name: str, *, can_be_changed: bool = False) -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": can_be_changed, "ManagedPropertyLogicalName": name}


def _schema_name(logical_name: str) -> str:
    return logical_name[:1].upper() + logical_name[1:]


def entity_metadata(table: Table) -> dict[str, Any]:
    name = table.logical_name
    return {
        "MetadataId": metadata_id("entity", name),
        "LogicalName": name,
        "SchemaName": _schema_name(name),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": _schema_name(table.entity_set),
        "ObjectTypeCode": OBJECT_TYPE_CODES.get(name, 10000),
        "DisplayName": label(table.display_name, name, "display"),
        "DisplayCollectionName": label(table.display_collection_name, name, "collection"),
        "Description": label("", name, "description"),
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name or None,
        "OwnershipType": table.ownership,
        "IsActivity": table.is_activity or name == "activitypointer",
        "IsCustomEntity": False,
        "IsCustomizable": _managed(name != "activitypointer", "iscustomizable"),
        "IsPrivate": False,
        "IsIntersect": False,
        "IsValidForAdvancedFind": True,
        "HasActivities": name in ("account", "contact", "opportunity", "lead"),
        "HasNotes": name in NOTE_TABLES,
        "IsAuditEnabled": _managed(table.audit_enabled, "canmodifyauditsettings",
                                   can_be_changed=table.ownership != "None"),
    }


def _option(table: Table, column: Column, value: int, text: str, state: int | None) -> dict[str, Any]:
    option: dict[str, Any] = {"Value": value, "Color": None, "IsManaged": True,
                              "Label": label(text, table.logical_name, column.logical_name, str(value)),
                              "Description": label("", table.logical_name, column.logical_name, str(value), "d")}
    if column.type == "Status":
        option["State"] = state
    if column.type == "State":
        option["DefaultStatus"] = None
    return option


def option_set(table: Table, column: Column) -> dict[str, Any]:
    name = f"{table.logical_name}_{column.logical_name}"
    base = {"MetadataId": metadata_id("optionset", name), "Name": name, "IsGlobal": False,
            "IsCustomOptionSet": False, "DisplayName": label(column.display_name, name, "optionset")}
    if column.type == "Boolean":
        false_option, true_option = column.options
        return {**base, "OptionSetType": "Boolean",
                "TrueOption": _option(table, column, 1, true_option.label, None),
                "FalseOption": _option(table, column, 0, false_option.label, None)}
    return {**base, "OptionSetType": column.type,
            "Options": [_option(table, column, o.value, o.label, o.state) for o in column.options]}


def attribute_metadata(table: Table, column: Column) -> dict[str, Any]:
    name = column.logical_name
    kind = ATTRIBUTE_TYPES[column.type]
    body: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}",
        "MetadataId": metadata_id("attribute", table.logical_name, name),
        "LogicalName": name,
        "SchemaName": _schema_name(name),
        "EntityLogicalName": table.logical_name,
        "AttributeType": column.type,
        "AttributeTypeName": {"Value": f"{column.type}Type"},
        "DisplayName": label(column.display_name, table.logical_name, name),
        "Description": label("", table.logical_name, name, "description"),
        "RequiredLevel": {"Value": column.required, "CanBeChanged": True,
                          "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
        "IsValidForCreate": column.valid_for_create,
        "IsValidForUpdate": column.valid_for_update,
        "IsValidForRead": column.valid_for_read,
        "IsPrimaryId": name == table.primary_id,
        "IsPrimaryName": name == table.primary_name,
        "IsCustomAttribute": False,
        "AttributeOf": None,
        "ColumnNumber": column_number(table, name),
        "IsAuditEnabled": _managed(column.audit_enabled, "canmodifyauditsettings",
                                   can_be_changed=column.audit_enabled),
    }
    if column.type == "String":
        body["MaxLength"] = column.max_length
        body["Format"] = "Email" if "email" in name else ("Url" if "url" in name else "Text")
    if column.type == "Memo":
        body["MaxLength"] = column.max_length
    if column.is_lookup:
        body["Targets"] = list(column.targets)
    if column.type == "DateTime":
        body["Format"] = "DateOnly" if column.date_only else "DateAndTime"
        body["DateTimeBehavior"] = {"Value": "DateOnly" if column.date_only else "UserLocal"}
    if column.type == "Money":
        body["Precision"] = 2
    return body


def _cascade(delete: str) -> dict[str, str]:
    return {"Assign": "NoCascade", "Delete": delete, "Merge": "NoCascade", "Reparent": "NoCascade",
            "Share": "NoCascade", "Unshare": "NoCascade", "RollupView": "NoCascade"}


def many_to_one_metadata(tables: dict[str, Table], table: Table, rel: ManyToOne) -> dict[str, Any]:
    referenced = tables[rel.referenced_entity]
    back = next((r for r in referenced.one_to_many if r.schema_name == rel.schema_name), None)
    return _relationship(rel.schema_name, rel.referenced_entity, rel.referenced_attribute, table.logical_name,
                         rel.referencing_attribute, back.navigation_property if back else None,
                         rel.navigation_property, back.cascade_delete if back else "RemoveLink")


def one_to_many_metadata(tables: dict[str, Table], table: Table, rel: OneToMany) -> dict[str, Any]:
    referencing = tables[rel.referencing_entity]
    forward = next((r for r in referencing.many_to_one if r.schema_name == rel.schema_name), None)
    return _relationship(rel.schema_name, table.logical_name, table.primary_id, rel.referencing_entity,
                         rel.referencing_attribute, rel.navigation_property,
                         forward.navigation_property if forward else None, rel.cascade_delete)


def _relationship(schema_name: str, referenced_entity: str, referenced_attribute: str, referencing_entity: str,
                  referencing_attribute: str, referenced_navigation: str | None, referencing_navigation: str | None,
                  delete: str) -> dict[str, Any]:
    return {
        "MetadataId": metadata_id("relationship", schema_name),
        "SchemaName": schema_name,
        "RelationshipType": "OneToManyRelationship",
        "IsCustomRelationship": False,
        "ReferencedEntity": referenced_entity,
        "ReferencedAttribute": referenced_attribute,
        "ReferencingEntity": referencing_entity,
        "ReferencingAttribute": referencing_attribute,
        "ReferencedEntityNavigationPropertyName": referenced_navigation,
        "ReferencingEntityNavigationPropertyName": referencing_navigation,
        "IsHierarchical": referenced_entity == referencing_entity,
        "CascadeConfiguration": _cascade(delete),
    }


def many_to_many_metadata(rel: ManyToMany) -> dict[str, Any]:
    """ManyToManyRelationshipMetadata: the same object whichever end it is read from."""
    menu = {"Behavior": "DoNotDisplay", "Group": "Details", "Label": label("", rel.schema_name, "menu"),
            "Order": None}
    return {
        "MetadataId": metadata_id("relationship", rel.schema_name),
        "SchemaName": rel.schema_name,
        "RelationshipType": "ManyToManyRelationship",
        "IsCustomRelationship": False,
        "IsCustomizable": _managed(False, "iscustomizable"),
        "IsValidForAdvancedFind": True,
        "IntersectEntityName": rel.intersect_entity,
        "Entity1LogicalName": rel.entity1,
        "Entity1IntersectAttribute": rel.entity1_attribute,
        "Entity1NavigationPropertyName": rel.entity1_navigation,
        "Entity1AssociatedMenuConfiguration": menu,
        "Entity2LogicalName": rel.entity2,
        "Entity2IntersectAttribute": rel.entity2_attribute,
        "Entity2NavigationPropertyName": rel.entity2_navigation,
        "Entity2AssociatedMenuConfiguration": dict(menu),
    }
