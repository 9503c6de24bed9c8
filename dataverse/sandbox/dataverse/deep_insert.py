"""Create bodies that reach past one record, as PD webapi/create-entity-web-api.md documents them:

- *Deep insert*: a single-valued navigation property set to an object creates that record and links it
  (`"primarycontactid": {"firstname": "John", "lastname": "Smith"}`); a collection-valued navigation property set to
  an array creates each item linked back to the new record (`"opportunity_customer_accounts": [{"name": ...,
  "Opportunity_Tasks": [{"subject": ...}]}]`), to any depth.
- *Associate on create*: `"Account_Tasks@odata.bind": ["/tasks(<id>)", ...]` points existing records at the new one.

It all happens in one transaction: when any part fails nothing is kept (web-api-basic-operations-sample.md, Section 3:
"either the entire operation succeeds and all the related objects are created, or the operation fails and none are
created"). Updates take no deep insert and no collection bind; only activity parties may be replaced as a collection
(associate-disassociate-entities-using-web-api.md), which write_routes does through activity_parties. An activity's
`<activity>_activity_parties` array, at any depth, is written as activity_parties writes it (checked, then stored
through the activity by `writes.create_row`), not as a deep insert of activityparty rows, which Dataverse does not
create directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dataverse.sandbox.dataverse.activity_parties import pop_activity_parties
from dataverse.sandbox.dataverse.context import RequestContext
from dataverse.sandbox.dataverse.model import LookupValue, ManyToOne, OneToMany, Row, SandboxError, Table
from dataverse.sandbox.dataverse.payload import BAD_REQUEST, values_from_payload
from dataverse.sandbox.dataverse.security import not_found
from dataverse.sandbox.dataverse.state import SandboxOrganization
from dataverse.sandbox.dataverse.transactions import transaction

Insert = Callable[[RequestContext, Table, Row, str | None, list[Row] | None], Row]
Update = Callable[[RequestContext, Table, Row, Row], Row]
_BIND_TARGET = re.compile(r"(?:.*/)?([A-Za-z_]\w*)\(([0-9a-fA-F-]{36})\)$")


@contextmanager
def rollback_on_error(org: SandboxOrganization) -> Iterator[None]:
    """Undo every row, share, N:N link and audit entry made inside the block if it raises (transactions.transaction,
    as `$batch` change sets and actions use it)."""
    with transaction(org):
        yield


def _single_navigation(table: Table, name: str) -> ManyToOne | None:
    return next((rel for rel in table.many_to_one if rel.navigation_property == name), None)


def _collection_navigation(table: Table, name: str) -> OneToMany | None:
    return next((rel for rel in table.one_to_many if rel.navigation_property == name), None)


def _shape_error(name: str, expected: str) -> SandboxError:
    return SandboxError(400, BAD_REQUEST, f"The value of the navigation property '{name}' must be {expected}.")


def create_deep(ctx: RequestContext, table: Table, body: dict[str, Any], insert: Insert,
                update: Update, *, row_id: str | None = None,
                extra: Row | None = None) -> Row:
    """Create the record `body` describes on `table`, with its deep-inserted and bound related records."""
    body = dict(body)
    parties = pop_activity_parties(ctx.dataset, table, body)
    plain: dict[str, Any] = {}
    children: list[tuple[OneToMany, list[Any]]] = []
    binds: list[tuple[OneToMany, list[Any]]] = []
    linked: Row = {}
    for key, value in body.items():
        name, _, annotation = key.partition("@")
        single = _single_navigation(table, key) if not annotation else None
        collection = _collection_navigation(table, name)
        if single is not None and isinstance(value, dict):
            related_table = ctx.org.table(single.referenced_entity)
            related = create_deep(ctx, related_table, value, insert, update)
            linked[single.referencing_attribute] = LookupValue(related_table.logical_name,
                                                               str(related[related_table.primary_id]))
        elif collection is not None and not annotation:
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise _shape_error(key, "an array of objects")
            children.append((collection, value))
        elif collection is not None and annotation == "odata.bind":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise _shape_error(key, "an array of entity references such as \"/tasks(<id>)\"")
            binds.append((collection, value))
        else:
            plain[key] = value
    values = values_from_payload(ctx.dataset, table, plain, creating=True)
    values.update(linked)
    values.update(extra or {})
    row = insert(ctx, table, values, row_id, parties)  # the activity's parties are stored with it
    parent = LookupValue(table.logical_name, str(row[table.primary_id]))
    for rel, items in children:
        child_table = ctx.org.table(rel.referencing_entity)
        for item in items:
            create_deep(ctx, child_table, item, insert, update, extra={rel.referencing_attribute: parent})
    for rel, references in binds:
        _bind_collection(ctx, rel, references, parent, update)
    return row


def _bind_collection(ctx: RequestContext, rel: OneToMany, references: list[str], parent: LookupValue,
                     update: Update) -> None:
    child_table = ctx.org.table(rel.referencing_entity)
    for reference in references:
        match = _BIND_TARGET.match(reference)
        if match is None:
            raise SandboxError(400, BAD_REQUEST, f"The value '{reference}' of '{rel.navigation_property}@odata.bind' "
                                                 "is not a valid entity reference. Use '/<entityset>(<guid>)'.")
        try:
            target = ctx.dataset.table_by_entity_set(match.group(1))
        except KeyError:
            raise SandboxError(404, "0x8006088a", f"Resource not found for the segment '{match.group(1)}'.") from None
        if target.logical_name != child_table.logical_name:
            raise SandboxError(400, BAD_REQUEST,
                               f"A navigation link '{rel.navigation_property}' was found for entity type "
                               f"'Microsoft.Dynamics.CRM.{target.logical_name}', but it expects "
                               f"'Microsoft.Dynamics.CRM.{child_table.logical_name}'.")
        existing = ctx.dataset.get(child_table.logical_name, match.group(2).lower())
        if existing is None:
            raise not_found(child_table, match.group(2).lower())
        ctx.dataset.require_write(child_table, existing)
        update(ctx, child_table, existing, {rel.referencing_attribute: parent})


def reject_deep_update(table: Table, body: dict[str, Any]) -> dict[str, Any]:
    """`body` unchanged, unless it tries a deep insert or a collection bind, which only a create takes."""
    for key, value in body.items():
        name, _, annotation = key.partition("@")
        if _collection_navigation(table, name) is not None and annotation in ("", "odata.bind"):
            raise SandboxError(400, BAD_REQUEST, f"The collection-valued navigation property '{name}' can only be "
                                                 "set when the record is created; associate existing records with "
                                                 f"POST .../{name}/$ref instead.")
        if not annotation and isinstance(value, dict) and _single_navigation(table, key) is not None:
            raise SandboxError(400, BAD_REQUEST, f"A related record cannot be created through '{key}' on update; "
                                                 f"create it first, then bind it with '{key}@odata.bind'.")
    return body
