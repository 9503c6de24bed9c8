"""Activity parties written through their activity, the only way Dataverse lets them be written
(PD `activityparty-entity.md`; crm-work section 7):

- create or update an activity with an array under `<activity>_activity_parties`
  (`{"partyid_contact@odata.bind": "/contacts(<id>)", "participationtypemask": 2}` items): on update the array
  replaces the activity's parties;
- `PUT <activities>(<id>)/<activity>_activity_parties` with `{"value": [...]}` replaces them too (204; crm_routes,
  through `writes.replace_parties`).

Each item binds one party (`partyid_<table>@odata.bind`) or names an address (`addressused`), with a
participationtypemask from 1 Sender to 12 Chat Participant; an unknown mask is 0x80094006 "The Activity Party type
Mask '{0}' not found.". Items are checked before anything is written, so a bad party leaves the activity unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

from dataverse.sandbox.dataverse.model import LookupValue, Row, SandboxError, Table
from dataverse.sandbox.dataverse.payload import values_from_payload
from dataverse.sandbox.dataverse.security import SecuredDataset
from dataverse.sandbox.dataverse.state import SandboxOrganization

UNKNOWN_MASK = "0x80094006"
BAD_REQUEST = "0x80060888"


def parties_navigation(table: Table) -> str | None:
    """`email_activity_parties` for email; None for a table without activity parties."""
    name = f"{table.logical_name}_activity_parties"
    return name if any(rel.navigation_property == name for rel in table.one_to_many) else None


def pop_activity_parties(dataset: SecuredDataset, table: Table, body: dict[str, Any]) -> list[Row] | None:
    """Take the `<activity>_activity_parties` array out of a create/update body and check it; None when absent."""
    navigation = parties_navigation(table)
    if navigation is None or navigation not in body:
        return None
    return check_parties(dataset, body.pop(navigation), navigation)


def check_parties(dataset: SecuredDataset, items: Any, navigation: str) -> list[Row]:
    """The party rows' values (without ids or activity) for a JSON array of party items."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise SandboxError(400, BAD_REQUEST, f"The value of '{navigation}' must be an array of activity parties.")
    party_table = dataset.table("activityparty")
    mask_column = party_table.columns["participationtypemask"]
    parties: list[Row] = []
    for item in items:
        mask = item.get("participationtypemask")
        if mask is not None and (isinstance(mask, bool) or not isinstance(mask, int)
                                 or mask_column.option_label(mask) is None):
            raise SandboxError(400, UNKNOWN_MASK, f"The Activity Party type Mask '{mask}' not found.")
        fields = {key: value for key, value in item.items() if not key.startswith("activityid")}
        values = values_from_payload(dataset, party_table, fields, creating=True)
        if values.get("partyid") is None and not values.get("addressused"):
            raise SandboxError(400, BAD_REQUEST, "An activity party needs a party (partyid_<table>@odata.bind) or "
                                                 "an address (addressused).")
        parties.append(values)
    return parties


def replace_activity_parties(org: SandboxOrganization, table: Table, activity_id: str, parties: list[Row]) -> None:
    """Make `parties` the activity's parties: remove the old ones, store the new ones."""
    activity = LookupValue(table.logical_name, activity_id)
    for existing in org.all_rows("activityparty"):
        if existing.get("activityid") == activity:
            org.remove_row("activityparty", str(existing["activitypartyid"]))
    party_table = org.table("activityparty")
    for values in parties:
        row: Row = {name: None for name in party_table.columns}
        row.update(values)
        row["activitypartyid"] = str(uuid.uuid4())
        row["activityid"] = activity
        org.put_row("activityparty", row)
