"""What the environment holds: `list_tables`, `describe_table` (columns with what a model needs to read and write
them) and `refresh_schema` (forget the cached schema after someone changed it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dataverse.settings import Settings
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.params import TableName
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table
from dataverse.tools.schema.lookup import list_tables as listed_tables
from dataverse.tools.schema.policy import table_allowed
from dataverse.tools.schema.selection import LOOKUP_TYPES
from dataverse.webapi.models import TableMetadata

MAX_LISTED_TABLES = 200

group: ToolGroup[None] = ToolGroup("catalog")


class TableEntry(ResultModel):
    name: str = Field(description="Logical name: what every other tool's `table` argument takes.")
    display_name: str | None = None
    entity_set: str = Field(description="Entity set name (the plural used in Web API URLs).")


class TableListResult(ResultModel):
    tables: list[TableEntry]
    total: int = Field(description="How many tables matched, including any not listed.")
    more: bool | None = Field(None, description="True when more tables matched than are listed; narrow `search`.")


class ChoiceEntry(ResultModel):
    value: int
    label: str
    state: int | None = Field(None, description="For status reasons: the statecode this status belongs to.")


class ColumnEntry(ResultModel):
    name: str
    type: str
    display_name: str | None = None
    required: bool | None = Field(None, description="True when Dataverse refuses a create without a value.")
    create: bool = Field(description="Can be set when creating a record.")
    update: bool = Field(description="Can be changed when updating a record.")
    choices: list[ChoiceEntry] | None = None
    targets: list[str] | None = Field(None, description="Lookup: the tables it can point at.")
    filter_as: str | None = Field(None, description="Lookup: the name to use in filter/orderby (_x_value).")
    bind: dict[str, str] | None = Field(
        None, description="Lookup: navigation property per target table, for '<nav>@odata.bind' and $expand."
    )
    max_length: int | None = None


class RelatedCollection(ResultModel):
    name: str = Field(description="Collection-valued navigation property, usable in $expand.")
    table: str
    column: str = Field(description="The lookup column on the related table that points back here.")


class ManyToManyEntry(ResultModel):
    name: str = Field(description="The relationship's schema name, for associate_records.")
    table: str
    navigation: str = Field(description="Collection-valued navigation property from this table.")


class TableDescriptionResult(ResultModel):
    table: str
    display_name: str | None = None
    entity_set: str
    primary_id: str
    primary_name: str | None = None
    columns: list[ColumnEntry]
    related: list[RelatedCollection] | None = None
    many_to_many: list[ManyToManyEntry] | None = None


class RefreshSchemaResult(ResultModel):
    cleared: int = Field(description="How many cached schema entries were dropped.")
    environment: str


@group.tool(title="List tables", annotations=READ_ONLY,
            description="Tables of the environment: logical name, display name and entity set.")
async def list_tables(
    call: ToolCall,
    search: Annotated[str | None, Field(description="Part of a table name, e.g. 'opportun'.")] = None,
) -> TableListResult:
    tables = await listed_tables(call)
    if search and search.strip():
        needle = search.strip().lower()
        tables = [t for t in tables if needle in t.logical_name or needle in (t.display_name or "").lower()
                  or needle in t.entity_set.lower()]
    tables = sorted(tables, key=lambda t: t.logical_name)
    listed = [TableEntry(name=t.logical_name, display_name=t.display_name, entity_set=t.entity_set)
              for t in tables[:MAX_LISTED_TABLES]]
    return TableListResult(tables=listed, total=len(tables), more=True if len(tables) > MAX_LISTED_TABLES else None)


@group.tool(title="Describe a table", annotations=READ_ONLY, description=(
    "A table's columns: type, required, settable on create/update, choice values and labels, lookup targets with "
    "the name to filter on (_x_value) and the navigation property per target for binds and $expand."))
async def describe_table(call: ToolCall, table: TableName) -> TableDescriptionResult:
    return describe(await describe_named_table(call, table), call.settings)


@group.tool(title="Refresh schema", annotations=READ_ONLY,
            description="Forget the cached tables and columns after someone changed the schema.")
async def refresh_schema(call: ToolCall) -> RefreshSchemaResult:
    return RefreshSchemaResult(cleared=call.runtime.metadata.clear_schema(call.environment),
                               environment=call.environment)


def describe(metadata: TableMetadata, settings: Settings) -> TableDescriptionResult:
    """The describe_table result: columns with what a model needs to read and write them."""
    binds: dict[str, dict[str, str]] = {}
    for relationship in metadata.many_to_one:
        if relationship.navigation_property:
            binds.setdefault(relationship.referencing_attribute, {})[relationship.referenced_entity] = (
                relationship.navigation_property)
    columns = []
    for column in sorted(metadata.columns, key=lambda c: c.logical_name):
        is_lookup = column.type in LOOKUP_TYPES
        columns.append(ColumnEntry(
            name=column.logical_name, type=column.type, display_name=column.display_name,
            required=True if column.required_level == "SystemRequired" else None,
            create=column.valid_for_create, update=column.valid_for_update,
            choices=[ChoiceEntry(value=o.value, label=o.label, state=o.state) for o in column.options]
            if column.options else None,
            targets=column.targets or None,
            filter_as=f"_{column.logical_name}_value" if is_lookup else None,
            bind=binds.get(column.logical_name) or None,
            max_length=column.max_length,
        ))
    related = [
        RelatedCollection(name=r.navigation_property, table=r.referencing_entity, column=r.referencing_attribute)
        for r in metadata.one_to_many
        if r.navigation_property and table_allowed(settings, r.referencing_entity)
    ]
    table = metadata.table
    many_to_many = []
    for pair in metadata.many_to_many:
        navigation = pair.navigation_from(table.logical_name)
        other = pair.entity2 if pair.entity1 == table.logical_name else pair.entity1
        if navigation and table_allowed(settings, other):
            many_to_many.append(ManyToManyEntry(name=pair.schema_name, table=other, navigation=navigation))
    return TableDescriptionResult(
        table=table.logical_name, display_name=table.display_name, entity_set=table.entity_set,
        primary_id=table.primary_id, primary_name=table.primary_name, columns=columns, related=related or None,
        many_to_many=many_to_many or None,
    )
