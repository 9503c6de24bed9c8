"""`GET /api/data/v9.2/$metadata`: the CSDL (OData 4.0 EDMX) document of the sandbox, written from the schema and the
operation catalog so it declares exactly what the sandbox serves: an EntityType per table (key, properties with Edm
types, lookups as `_x_value` Edm.Guid, navigation properties of every relationship), the complex types the functions
return, every `<Action>`/`<Function>` (IsBound, binding parameter `entity`/`entityset`, parameters with Type and
Nullable, ReturnType), and the EntityContainer with the entity sets and the unbound operation imports."""

from __future__ import annotations

from xml.etree import ElementTree

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import Column, Table
from dataverse.sandbox.dataverse.operation_catalog import OPERATIONS
from dataverse.sandbox.dataverse.operations import ALIAS, NAMESPACE, Operation, Parameter

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
_EDM_TYPES = {"String": "Edm.String", "Memo": "Edm.String", "EntityName": "Edm.String", "Integer": "Edm.Int32",
              "BigInt": "Edm.Int64", "Money": "Edm.Decimal", "Decimal": "Edm.Decimal", "Double": "Edm.Double",
              "Boolean": "Edm.Boolean", "Picklist": "Edm.Int32", "State": "Edm.Int32", "Status": "Edm.Int32",
              "DateTime": "Edm.DateTimeOffset", "Uniqueidentifier": "Edm.Guid"}


def _property_type(column: Column) -> str:
    if column.is_lookup:
        return "Edm.Guid"
    if column.type == "DateTime" and column.date_only:
        return "Edm.Date"
    return _EDM_TYPES.get(column.type, "Edm.String")


def _entity_type(schema: ElementTree.Element, table: Table) -> None:
    entity = ElementTree.SubElement(schema, "EntityType", Name=table.logical_name, BaseType=f"{ALIAS}.crmbaseentity")
    key = ElementTree.SubElement(entity, "Key")
    ElementTree.SubElement(key, "PropertyRef", Name=table.primary_id)
    for column in table.columns.values():
        name = f"_{column.logical_name}_value" if column.is_lookup else column.logical_name
        ElementTree.SubElement(entity, "Property", Name=name, Type=_property_type(column))
    for many in table.many_to_one:
        ElementTree.SubElement(entity, "NavigationProperty", Name=many.navigation_property,
                               Type=f"{ALIAS}.{many.referenced_entity}", Nullable="false")
    for one in table.one_to_many:
        ElementTree.SubElement(entity, "NavigationProperty", Name=one.navigation_property,
                               Type=f"Collection({ALIAS}.{one.referencing_entity})")
    for both in table.many_to_many:
        navigation = both.navigation_from(table.logical_name)
        if navigation:
            ElementTree.SubElement(entity, "NavigationProperty", Name=navigation,
                                   Type=f"Collection({ALIAS}.{both.other_end(table.logical_name)})")


def _parameter(parent: ElementTree.Element, tag: str, parameter: Parameter) -> None:
    attributes = {"Name": parameter.name, "Type": parameter.type}
    if not parameter.nullable:
        attributes["Nullable"] = "false"
    ElementTree.SubElement(parent, tag, attributes)


def _operation(schema: ElementTree.Element, operation: Operation) -> None:
    attributes = {"Name": operation.name}
    if operation.is_bound:
        attributes["IsBound"] = "true"
    element = ElementTree.SubElement(schema, operation.kind, attributes)
    if operation.bound_to is not None:
        bound_type = f"{ALIAS}.{operation.bound_to}"
        if operation.bound_to_collection:
            _parameter(element, "Parameter", Parameter("entityset", f"Collection({bound_type})", nullable=False))
        else:
            _parameter(element, "Parameter", Parameter("entity", bound_type, nullable=False))
    for parameter in operation.parameters:
        _parameter(element, "Parameter", parameter)
    if operation.returns is not None:
        ElementTree.SubElement(element, "ReturnType", Type=operation.returns, Nullable="false")


def _referenced_entity_types(tables: dict[str, Table]) -> list[str]:
    """Entity types operations name that the schema does not hold (transactioncurrency, campaign): declared as stubs."""
    complex_names = {name for operation in OPERATIONS.values() for name in operation.complex_types}
    names: set[str] = set()
    for operation in OPERATIONS.values():
        for parameter in operation.parameters:
            type_name = parameter.type.removeprefix("Collection(").rstrip(")")
            if type_name.startswith(f"{ALIAS}."):
                names.add(type_name.removeprefix(f"{ALIAS}."))
    return sorted(names - set(tables) - complex_names - {"crmbaseentity"})


def csdl_document(tables: dict[str, Table]) -> bytes:
    """The $metadata document for these tables and the operation catalog, as UTF-8 XML."""
    ElementTree.register_namespace("edmx", EDMX)
    root = ElementTree.Element(f"{{{EDMX}}}Edmx", Version="4.0")
    services = ElementTree.SubElement(root, f"{{{EDMX}}}DataServices")
    schema = ElementTree.SubElement(services, "Schema", Namespace=NAMESPACE, Alias=ALIAS, xmlns=EDM)
    ElementTree.SubElement(schema, "EntityType", Name="crmbaseentity", Abstract="true")
    for table in tables.values():
        _entity_type(schema, table)
    for name in _referenced_entity_types(tables):
        stub = ElementTree.SubElement(schema, "EntityType", Name=name, BaseType=f"{ALIAS}.crmbaseentity")
        ElementTree.SubElement(ElementTree.SubElement(stub, "Key"), "PropertyRef", Name=f"{name}id")
        ElementTree.SubElement(stub, "Property", Name=f"{name}id", Type="Edm.Guid")
    declared: set[str] = set()
    for operation in OPERATIONS.values():
        for type_name, properties in operation.complex_types.items():
            if type_name in declared:
                continue
            declared.add(type_name)
            complex_type = ElementTree.SubElement(schema, "ComplexType", Name=type_name)
            for prop in properties:
                _parameter(complex_type, "Property", prop)
    for operation in OPERATIONS.values():
        _operation(schema, operation)
    container = ElementTree.SubElement(schema, "EntityContainer", Name="System")
    for table in tables.values():
        ElementTree.SubElement(container, "EntitySet", Name=table.entity_set,
                               EntityType=f"{NAMESPACE}.{table.logical_name}")
    for operation in OPERATIONS.values():
        if operation.is_bound:
            continue
        if operation.kind == "Function":
            ElementTree.SubElement(container, "FunctionImport", Name=operation.name,
                                   Function=f"{NAMESPACE}.{operation.name}", IncludeInServiceDocument="false")
        else:
            ElementTree.SubElement(container, "ActionImport", Name=operation.name,
                                   Action=f"{NAMESPACE}.{operation.name}")
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def get_metadata_document(ctx: RequestContext) -> Response:
    return Response(csdl_document(ctx.org.tables), media_type="application/xml")
