"""Relating records: `associate_records` and `disassociate_records`, for N:N relationships (an opportunity and its
competitors, a contact in a marketing list) and 1:N ones (a contact under an account), named by the relationship's
schema name or by the navigation property from the first record's table, as describe_table lists them. The Web API
does it with `$ref` on the collection-valued navigation property."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import InvalidArgumentError, dataverse_errors, nearest_names, record_id_argument
from dataverse.tools.kit.params import RecordId, TableName
from dataverse.tools.kit.registry import DESTRUCTIVE, WRITE, ToolGroup
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.lookup import describe_named_table, resolve_table
from dataverse.tools.schema.policy import require_table_allowed
from dataverse.tools.values.links import record_url
from dataverse.webapi.models import TableMetadata

group: ToolGroup[None] = ToolGroup("relate")

Relationship = Annotated[str, Field(description="Relationship schema name or navigation property (describe_table).")]


class RelateResult(ResultModel):
    relationship: str
    record: dict[str, str]
    related: dict[str, str]
    related_now: bool


@dataclass(frozen=True)
class Navigation:
    relationship: str
    navigation: str  # collection-valued, on the first record's table
    related_table: str


@group.tool(title="Relate two records", annotations=WRITE.but(idempotent=True), requires="write", description=(
    "Relate a record to another through an N:N or 1:N relationship, e.g. a competitor to an opportunity."))
async def associate_records(call: ToolCall, table: TableName, id: RecordId, relationship: Relationship,
                            related_id: Annotated[str, Field(description="The other record's id.")]) -> RelateResult:
    return await _relate(call, table, id, relationship, related_id, relate=True)


@group.tool(title="Unrelate two records", annotations=DESTRUCTIVE.but(idempotent=True), requires="write",
            description="Remove the relationship between two records (neither record is deleted).")
async def disassociate_records(call: ToolCall, table: TableName, id: RecordId, relationship: Relationship,
                               related_id: Annotated[str, Field(description="The other record's id.")]
                               ) -> RelateResult:
    return await _relate(call, table, id, relationship, related_id, relate=False)


async def _relate(call: ToolCall, table: str, id: str, relationship: str, related_id: str, *,
                  relate: bool) -> RelateResult:
    record_id, other_id = record_id_argument(id), record_id_argument(related_id)
    metadata = await describe_named_table(call, table)
    found = find_navigation(metadata, relationship)
    require_table_allowed(call.settings, found.related_table)
    related = await resolve_table(call, found.related_table)
    summary = metadata.table
    with dataverse_errors(operation="update", table=summary.logical_name, record_id=record_id):
        if relate:
            await call.client.associate(summary.entity_set, record_id, found.navigation,
                                        target_set=related.entity_set, target_id=other_id)
        else:
            await call.client.disassociate(summary.entity_set, record_id, found.navigation, target_id=other_id)
    return RelateResult(
        relationship=found.relationship, related_now=relate,
        record={"table": summary.logical_name, "id": record_id,
                "url": record_url(call, summary.logical_name, record_id)},
        related={"table": related.logical_name, "id": other_id,
                 "url": record_url(call, related.logical_name, other_id)})


def find_navigation(metadata: TableMetadata, name: str) -> Navigation:
    """The relationship `name` means, from the first record's side: an N:N relationship or a 1:N one."""
    table = metadata.table.logical_name
    wanted = name.strip().lower()
    options: list[Navigation] = []
    for relationship in metadata.many_to_many:
        navigation = relationship.navigation_from(table)
        if navigation:
            other = relationship.entity2 if relationship.entity1 == table else relationship.entity1
            options.append(Navigation(relationship.schema_name, navigation, other))
    for one_to_many in metadata.one_to_many:
        if one_to_many.navigation_property:
            options.append(Navigation(one_to_many.schema_name, one_to_many.navigation_property,
                                      one_to_many.referencing_entity))
    for option in options:
        if wanted in (option.relationship.lower(), option.navigation.lower()):
            return option
    names = sorted({option.relationship for option in options})
    close = nearest_names(name, names, limit=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise InvalidArgumentError(f"{table} has no relationship {name!r}.{hint} describe_table({table!r}) lists its "
                               "relationships (many_to_many, related).")
