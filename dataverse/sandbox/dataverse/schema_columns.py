"""Column builders for the sandbox schema: one small function per Dataverse attribute kind, so table definitions in
schema.py read like the customisation screen (name, label, a few flags)."""

from __future__ import annotations

import dataclasses

from dataverse.sandbox.dataverse.model import AttributeType, Column, Option, RequiredLevel


def primary_key(name: str, display: str) -> Column:
    return Column(name, "Uniqueidentifier", display, required="SystemRequired", valid_for_update=False,
                  audit_enabled=False)


def text(name: str, display: str, *, max_length: int | None = 100, required: RequiredLevel = "None",
         create: bool = True, update: bool = True, kind: AttributeType = "String") -> Column:
    return Column(name, kind, display, required=required, valid_for_create=create, valid_for_update=update,
                  max_length=max_length if kind == "String" else None)


def memo(name: str, display: str) -> Column:
    return Column(name, "Memo", display, max_length=2000)


def integer(name: str, display: str) -> Column:
    return Column(name, "Integer", display)


def money(name: str, display: str) -> Column:
    return Column(name, "Money", display)


def boolean(name: str, display: str, *, true_label: str, false_label: str, create: bool = True) -> Column:
    return Column(name, "Boolean", display, valid_for_create=create,
                  options=(Option(0, false_label), Option(1, true_label)))


def choice(name: str, display: str, options: tuple[Option, ...]) -> Column:
    return Column(name, "Picklist", display, options=options)


def state(options: tuple[Option, ...]) -> Column:
    return Column("statecode", "State", "Status", required="SystemRequired", options=options)


def status(options: tuple[Option, ...]) -> Column:
    return Column("statuscode", "Status", "Status Reason", options=options)


def datetime_column(name: str, display: str, *, create: bool = True, update: bool = True) -> Column:
    return Column(name, "DateTime", display, valid_for_create=create, valid_for_update=update)


def date_only(name: str, display: str) -> Column:
    return Column(name, "DateTime", display, date_only=True)


def lookup(name: str, display: str, targets: tuple[str, ...], *, kind: AttributeType = "Lookup",
           required: RequiredLevel = "None", create: bool = True, update: bool = True) -> Column:
    return Column(name, kind, display, required=required, targets=targets, valid_for_create=create,
                  valid_for_update=update)


def versionnumber() -> Column:
    return Column("versionnumber", "BigInt", "Version Number", valid_for_create=False, valid_for_update=False,
                  audit_enabled=False)


def columns_by_name(*columns: Column) -> dict[str, Column]:
    """A table's columns keyed by logical name, in the order given."""
    return {column.logical_name: column for column in columns}


def organization_owned_columns() -> tuple[Column, ...]:
    """The system columns of an organization-owned table (no owner): when it was created and changed, its version."""
    return (
        datetime_column("createdon", "Created On", create=False, update=False),
        datetime_column("modifiedon", "Modified On", create=False, update=False),
        versionnumber(),
    )


def _unaudited(column: Column) -> Column:
    return dataclasses.replace(column, audit_enabled=False)


def owned_columns() -> tuple[Column, ...]:
    """The system columns every user-owned table carries."""
    return (
        lookup("ownerid", "Owner", ("systemuser", "team"), kind="Owner", required="SystemRequired"),
        _unaudited(datetime_column("createdon", "Created On", create=False, update=False)),
        _unaudited(datetime_column("modifiedon", "Modified On", create=False, update=False)),
        _unaudited(lookup("createdby", "Created By", ("systemuser",), create=False, update=False)),
        _unaudited(lookup("modifiedby", "Modified By", ("systemuser",), create=False, update=False)),
        versionnumber(),
    )
