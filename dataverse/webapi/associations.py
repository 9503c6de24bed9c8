"""Associating and disassociating records through `$ref`: the paths and bodies of the three forms.

- Collection-valued navigation (1:N or N:N): `POST {set}({id})/{nav}/$ref` with `{"@odata.id": "<api>/{set}({id})"}`
  adds a record; `DELETE {set}({id})/{nav}({id})/$ref` removes one.
- Single-valued navigation (a lookup, by its navigation property such as `customerid_account`):
  `PUT {set}({id})/{nav}/$ref` with `{"@odata.id": ...}` sets it; `DELETE {set}({id})/{nav}/$ref` clears it.

A lookup's logical name (`parentcustomerid`) is not a navigation property: Dataverse refuses `$ref` after it.

`AssociationVerbs` are the client's verbs: associate (POST, never retried), set_reference (PUT, retried like an
update) and disassociate (DELETE, sent once like every delete).
"""

from __future__ import annotations

from .core import ClientCore
from .odata import format_guid, record_path, validate_identifier


def reference_path(entity_set: str, record_id: str, navigation: str, target_id: str | None = None) -> str:
    """`{set}({id})/{nav}/$ref`, or `{set}({id})/{nav}({target_id})/$ref` to name one record of a collection."""
    segment = validate_identifier(navigation, kind="navigation property")
    if target_id is not None:
        segment = f"{segment}({format_guid(target_id)})"
    return f"{record_path(entity_set, record_id)}/{segment}/$ref"


def reference_body(api_url: str, entity_set: str, record_id: str) -> dict[str, str]:
    """`{"@odata.id": "<api_url>{set}({id})"}`, the absolute form the documentation uses."""
    return {"@odata.id": f"{api_url}{record_path(entity_set, record_id)}"}


class AssociationVerbs(ClientCore):
    async def associate(self, entity_set: str, record_id: str, navigation: str, *, target_set: str,
                        target_id: str) -> None:
        """Add `target_set(target_id)` to the collection-valued `navigation` of `entity_set(record_id)`: a 1:N
        relationship (`contact_customer_accounts`: sets the contact's company) or an N:N one
        (`opportunitycompetitors_association`). Never retried: OutcomeUnknownError when it failed after sending.
        NotFoundError for an unknown navigation property or a record the user cannot see; BadRequestError for a
        lookup's logical name or an N:N link that already exists; PermissionDeniedError for a missing privilege."""
        await self._request(
            "POST",
            reference_path(entity_set, record_id, navigation),
            json=reference_body(self.api_url, target_set, target_id),
            idempotent=False,
            outcome_hint=f"Read {entity_set}({record_id})/{navigation} to see whether the link exists before "
                         f"associating again.",
        )

    async def set_reference(self, entity_set: str, record_id: str, navigation: str, *, target_set: str,
                            target_id: str) -> None:
        """Point the single-valued `navigation` (a lookup's navigation property, e.g. `customerid_account`) of
        `entity_set(record_id)` at `target_set(target_id)`. Idempotent, so retried like an update."""
        await self._request(
            "PUT",
            reference_path(entity_set, record_id, navigation),
            json=reference_body(self.api_url, target_set, target_id),
            idempotent=True,
            outcome_hint="Retrieve the record to see whether the lookup was set.",
        )

    async def disassociate(self, entity_set: str, record_id: str, navigation: str, *,
                           target_id: str | None = None) -> None:
        """Remove `target_id` from the collection-valued `navigation` of `entity_set(record_id)`, or, without
        `target_id`, clear the single-valued `navigation`. Sent once (a DELETE): OutcomeUnknownError when it failed
        after sending."""
        await self._request(
            "DELETE",
            reference_path(entity_set, record_id, navigation, target_id),
            idempotent=False,
            outcome_hint=f"Read {entity_set}({record_id})/{navigation} to see whether the link is gone before "
                         f"disassociating again.",
        )
