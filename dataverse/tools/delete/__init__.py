"""Deleting a record in two steps: `delete_record` proposes (impact summary, single-use confirmation token) and
`confirm_delete` carries it out exactly once (group.py). Proposals live in shared storage (proposals.py) and expire
through a durable timer or an in-process one (expiry.py)."""

from dataverse.tools.delete.group import group

__all__ = ["group"]
