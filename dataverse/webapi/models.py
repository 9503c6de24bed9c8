"""The typed results the Dataverse client returns: query pages, identity, table metadata, change history, and the
definitions of actions and functions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OperationKind = Literal["action", "function"]
# What invoke_action / invoke_function return: None for 204, a dict for a complex type or one entity, a list for a
# collection (entity rows, or values such as strings).
OperationResult = dict[str, Any] | list[Any] | None


@dataclass
class Page:
    """One page of an OData query. Rows are raw Dataverse rows (annotations included when asked for)."""

    rows: list[dict[str, Any]]
    next_link: str | None  # pass to DataverseClient.query_next unedited; None on the last page
    count: int | None  # @odata.count when count=True (Dataverse caps it at 5,000)


@dataclass
class FetchPage:
    """One page of a FetchXML query."""

    rows: list[dict[str, Any]]
    more_records: bool
    paging_cookie: str | None  # decoded, ready for fetchxml.with_paging(paging_cookie=...)
    next_page: int | None = None  # the page number Dataverse's cookie names for the next request


@dataclass(frozen=True)
class WhoAmI:
    user_id: str
    business_unit_id: str
    organization_id: str


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    full_name: str
    email: str | None
    business_unit: str | None  # the business unit's name
    timezone_code: int | None  # usersettings.timezonecode (a Windows time zone index)


@dataclass(frozen=True)
class TableSummary:
    logical_name: str
    entity_set: str
    display_name: str | None
    primary_id: str
    primary_name: str | None
    description: str | None = None


@dataclass(frozen=True)
class ChoiceOption:
    value: int
    label: str
    state: int | None = None  # Status options: the statecode this status belongs to


@dataclass(frozen=True)
class ColumnMetadata:
    logical_name: str
    type: str  # AttributeType: String, Memo, Integer, Money, Picklist, Lookup, ...
    display_name: str | None
    required_level: str  # None | SystemRequired | ApplicationRequired | Recommended
    valid_for_create: bool
    valid_for_update: bool
    options: list[ChoiceOption] | None = None  # Picklist/State/Status/Boolean/MultiSelectPicklist
    targets: list[str] | None = None  # Lookup/Customer/Owner: referenced table logical names
    max_length: int | None = None  # String/Memo


@dataclass(frozen=True)
class ManyToOneRelationship:
    schema_name: str
    referencing_attribute: str  # the lookup column on this table
    referenced_entity: str
    referenced_attribute: str
    navigation_property: str  # ReferencingEntityNavigationPropertyName: use with @odata.bind and $expand


@dataclass(frozen=True)
class OneToManyRelationship:
    schema_name: str
    referencing_entity: str  # the table whose rows point at this one
    referencing_attribute: str
    navigation_property: str  # ReferencedEntityNavigationPropertyName: a collection, e.g. Account_Tasks
    cascade_delete: str  # Cascade | RemoveLink | Restrict | NoCascade


@dataclass(frozen=True)
class ManyToManyRelationship:
    """An N:N relationship through an intersect table. Each end has its own collection-valued navigation property
    (system relationships name both after the schema name); use it with `associate`/`disassociate`."""

    schema_name: str
    entity1: str  # Entity1LogicalName
    entity2: str  # Entity2LogicalName
    intersect_entity: str  # IntersectEntityName, e.g. opportunitycompetitors
    entity1_navigation: str  # Entity1NavigationPropertyName: on entity1 records, leading to entity2 rows
    entity2_navigation: str  # Entity2NavigationPropertyName: on entity2 records, leading to entity1 rows

    def navigation_from(self, logical_name: str) -> str | None:
        """The navigation property a `logical_name` record uses for this relationship; None if not an end of it."""
        if logical_name == self.entity1:
            return self.entity1_navigation
        if logical_name == self.entity2:
            return self.entity2_navigation
        return None


@dataclass(frozen=True)
class TableMetadata:
    table: TableSummary
    columns: list[ColumnMetadata]
    many_to_one: list[ManyToOneRelationship] = field(default_factory=list)
    one_to_many: list[OneToManyRelationship] = field(default_factory=list)
    many_to_many: list[ManyToManyRelationship] = field(default_factory=list)

    def column(self, logical_name: str) -> ColumnMetadata:
        """The column with this logical name; KeyError if the table has none."""
        for column in self.columns:
            if column.logical_name == logical_name:
                return column
        raise KeyError(logical_name)

    def columns_only(self) -> TableColumns:
        return TableColumns(table=self.table, columns=self.columns)


@dataclass(frozen=True)
class TableColumns:
    """A table and its columns as reading needs them (names and types), from one request. The choices, lookup targets,
    lengths and relationships that need more requests are only in TableMetadata. `listed` is False for a table the
    table list leaves out (private, intersect, or without an entity set)."""

    table: TableSummary
    columns: list[ColumnMetadata]
    listed: bool = True


@dataclass(frozen=True)
class DateTimeBehavior:
    """How a DateTime column stores its values. DateOnly: a calendar date, no time of day. TimeZoneIndependent: a
    wall-clock date and time, never converted between zones. UserLocal (both flags False): an instant, stored in UTC
    and shown in each user's time zone."""

    date_only: bool = False
    time_zone_independent: bool = False


@dataclass(frozen=True)
class SearchHit:
    """One result of Dataverse search: the row's table and id, and the columns asked for (as search returned them:
    lookups as ids, choices as values, dates as ISO strings)."""

    table: str  # the table's logical name (EntityName)
    id: str  # the row's id, a lower-case GUID
    attributes: dict[str, Any]  # the entity's selectColumns that have a value
    score: float | None = None  # search's relevance score; higher is better


@dataclass(frozen=True)
class OperationParameter:
    name: str  # case-sensitive, as the action expects it
    type: str  # as the CSDL writes it: Edm.Int32, mscrm.opportunityclose, Collection(Edm.String)
    nullable: bool  # False: required


@dataclass(frozen=True)
class ActionDefinition:
    """An action (POST, may change data) or function (GET, reads) as the CSDL `$metadata` document declares it.

    A bound operation takes its binding parameter from the URL: `bound_to` is the entity type's logical name
    (`lead` for QualifyLead) and `bound_to_collection` says whether it is bound to the entity set rather than one
    record; the binding parameter is not among `parameters`."""

    name: str
    kind: OperationKind
    bound_to: str | None
    bound_to_collection: bool
    parameters: tuple[OperationParameter, ...]
    returns: str | None  # the CSDL return type; None: no content

    def parameter(self, name: str) -> OperationParameter:
        """The parameter called `name` (case-sensitive); KeyError if there is none."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [parameter.name for parameter in self.parameters if not parameter.nullable]


@dataclass(frozen=True)
class ColumnChange:
    """One column's change in an audited write, raw as Dataverse sent it: `column` is the logical name (a lookup's
    `_x_value` is reported as `x`); a value is None when the side left it out (null, or a create/delete). The
    annotations are keyed by name, e.g. "OData.Community.Display.V1.FormattedValue",
    "Microsoft.Dynamics.CRM.lookuplogicalname", "Microsoft.Dynamics.CRM.associatednavigationproperty"."""

    column: str
    old_value: Any
    new_value: Any
    old_annotations: dict[str, Any] = field(default_factory=dict)
    new_annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordChange:
    """One entry of a record's change history: the columns it changed and, when the audit log could be joined, the
    audit row's action (1 Create, 2 Update, 3 Delete, 13 Assign, ...), who made it and when."""

    detail_type: str  # AttributeAuditDetail, RelationshipAuditDetail, ShareAuditDetail, ...
    table: str | None  # the record's table logical name, from the values' @odata.type
    changes: list[ColumnChange]
    audit_id: str | None = None
    action: int | None = None
    action_name: str | None = None  # the action's label, e.g. "Update"
    operation: int | None = None  # 1 Create, 2 Update, 3 Delete, 4 Access
    changed_by_id: str | None = None  # systemuserid
    changed_by_name: str | None = None
    changed_on: datetime | None = None  # UTC

    def attributed(self, **who_and_when: Any) -> RecordChange:
        return dataclasses.replace(self, **who_and_when)


@dataclass(frozen=True)
class ChangeHistoryPage:
    """One page of a record's change history, newest first. Pass `paging_cookie` with `page + 1` for the next.
    `attributed` says whether who and when could be joined from the audit log (see webapi.history)."""

    changes: list[RecordChange]
    more_records: bool
    paging_cookie: str | None
    total_count: int | None  # TotalRecordCount; None when Dataverse did not say
    page: int
    attributed: bool = False
