"""The sandbox Dataverse's in-memory data model: table schemas, column types, choice options, lookups and rows.

This is the contract between the schema/seed/HTTP layer and the query engines (OData $filter, FetchXML):

- A row is a plain `dict[str, Any]` keyed by column logical name. Values are Python-native:
  String/Memo -> str; Integer -> int; Money/Decimal/Double -> float; DateTime -> timezone-aware `datetime` in UTC;
  DateOnly -> `date`; Boolean -> bool; Picklist/State/Status -> int; Uniqueidentifier (primary key) -> lower-case str;
  Lookup/Customer/Owner -> `LookupValue` (or None). A missing key and `None` both mean null.
- On the wire a lookup column `x` appears as `_x_value`; query engines accept both spellings of it in filters.
- Query engines never see rows the caller may not read: a `Dataset` already applies row security.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal, Protocol

AttributeType = Literal[
    "String",
    "Memo",
    "Integer",
    "BigInt",
    "Money",
    "Decimal",
    "Double",
    "DateTime",
    "Boolean",
    "Picklist",
    "State",
    "Status",
    "Lookup",
    "Customer",
    "Owner",
    "Uniqueidentifier",
    "EntityName",
]
RequiredLevel = Literal["None", "SystemRequired", "ApplicationRequired", "Recommended"]
LOOKUP_TYPES: frozenset[str] = frozenset({"Lookup", "Customer", "Owner"})
CHOICE_TYPES: frozenset[str] = frozenset({"Picklist", "State", "Status"})


@dataclass(frozen=True)
class Option:
    """One choice option. `state` is set on Status options (the statecode they belong to)."""

    value: int
    label: str
    state: int | None = None


@dataclass(frozen=True)
class Column:
    logical_name: str
    type: AttributeType
    display_name: str
    required: RequiredLevel = "None"
    valid_for_create: bool = True
    valid_for_update: bool = True
    valid_for_read: bool = True
    options: tuple[Option, ...] = ()  # Picklist/State/Status; Boolean uses (0 false label, 1 true label)
    targets: tuple[str, ...] = ()  # Lookup/Customer/Owner: referenced table logical names
    max_length: int | None = None  # String/Memo
    date_only: bool = False  # DateTime with DateOnly behaviour (e.g. opportunity.estimatedclosedate)
    audit_enabled: bool = True  # Attributes.IsAuditEnabled: changes to it are recorded when the table is audited

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    def option_label(self, value: int) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.label
        return None


@dataclass(frozen=True)
class ManyToOne:
    """A many-to-one relationship from the referencing table (the one with the lookup column) to `referenced_entity`.

    `navigation_property` is ReferencingEntityNavigationPropertyName: the name used with `@odata.bind` and `$expand`.
    Polymorphic lookups have one relationship per target, e.g. customerid -> customerid_account / customerid_contact.
    """

    schema_name: str
    referencing_attribute: str
    referenced_entity: str
    referenced_attribute: str
    navigation_property: str


@dataclass(frozen=True)
class OneToMany:
    """The other end of a ManyToOne, seen from the referenced table; `cascade_delete` in Cascade|RemoveLink|Restrict."""

    schema_name: str
    referencing_entity: str
    referencing_attribute: str
    navigation_property: str  # ReferencedEntityNavigationPropertyName, a collection (e.g. Account_Tasks)
    cascade_delete: Literal["Cascade", "RemoveLink", "Restrict", "NoCascade"] = "RemoveLink"


@dataclass(frozen=True)
class ManyToMany:
    """A many-to-many relationship through an intersect table, as ManyToManyRelationshipMetadata describes it.

    `entity1_navigation` is the collection-valued navigation property on entity 1 (leading to entity 2 rows), and
    `entity2_navigation` the one on entity 2; system relationships use the schema name for both.
    """

    schema_name: str
    intersect_entity: str
    entity1: str
    entity1_attribute: str
    entity1_navigation: str
    entity2: str
    entity2_attribute: str
    entity2_navigation: str

    def navigation_from(self, logical_name: str) -> str | None:
        """The navigation property a `logical_name` record uses for this relationship (None if not an end of it)."""
        if logical_name == self.entity1:
            return self.entity1_navigation
        if logical_name == self.entity2:
            return self.entity2_navigation
        return None

    def other_end(self, logical_name: str) -> str:
        """The logical name of the table at the other end from `logical_name`."""
        return self.entity2 if logical_name == self.entity1 else self.entity1


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    display_name: str
    display_collection_name: str
    primary_id: str
    primary_name: str
    columns: dict[str, Column]
    many_to_one: tuple[ManyToOne, ...] = ()
    one_to_many: tuple[OneToMany, ...] = ()
    many_to_many: tuple[ManyToMany, ...] = ()
    is_activity: bool = False  # activity tables also appear in activitypointer
    ownership: Literal["UserOwned", "OrganizationOwned", "None"] = "UserOwned"
    audit_enabled: bool = False  # EntityDefinitions.IsAuditEnabled

    def column(self, name: str) -> Column | None:
        """The column named `name`, also accepting the wire spelling `_x_value` of a lookup `x`."""
        if name in self.columns:
            return self.columns[name]
        if name.startswith("_") and name.endswith("_value"):
            inner = self.columns.get(name[1:-6])
            if inner is not None and inner.is_lookup:
                return inner
        return None


@dataclass(frozen=True)
class LookupValue:
    """A lookup cell: the referenced table's logical name and the referenced row's id (lower-case GUID)."""

    table: str
    id: str


Row = dict[str, Any]


@dataclass
class QueryContext:
    """What relative-date and current-user operators need: the caller, the clock, the caller's time zone."""

    user_id: str  # the caller's systemuserid
    now: datetime  # timezone-aware UTC
    user_timezone: tzinfo
    team_ids: tuple[str, ...] = field(default_factory=tuple)


class Dataset(Protocol):
    """Read access for the query engines, already filtered by the caller's row security."""

    def table(self, logical_name: str) -> Table:
        """The table's schema; raises KeyError for an unknown table."""
        ...

    def table_by_entity_set(self, entity_set: str) -> Table:
        """The table whose EntitySetName this is; raises KeyError for an unknown set."""
        ...

    def rows(self, logical_name: str) -> list[Row]:
        """The rows of the table the caller may read, in a stable order."""
        ...

    def get(self, logical_name: str, row_id: str) -> Row | None:
        """One row the caller may read, or None."""
        ...


class Unauthenticated(Exception):
    """No valid bearer token: answered 401 with WWW-Authenticate and no body, as Dataverse does."""


class SandboxError(Exception):
    """A Dataverse-shaped error: HTTP status, hex error code and the message Dataverse would send."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}
