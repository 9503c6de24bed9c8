"""Sending a bulk change: one `$batch` holding the rows as one change set (atomic: all or none) or as separate
requests with `Prefer: odata.continue-on-error` (each row on its own), and one outcome per row. Never retried: a
batch whose answer was lost is an unknown outcome, and the error says how to find out what happened."""

from __future__ import annotations

from dataverse.tools.confirm.proposals import BulkAction
from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import DataverseRefusedError, dataverse_errors
from dataverse.tools.kit.results import ResultModel
from dataverse.webapi.batch_request import BatchRequest, ChangeSet
from dataverse.webapi.errors import OutcomeUnknownError


class RowOutcome(ResultModel):
    row: int
    id: str | None = None
    outcome: str  # succeeded, failed, rolled_back (its change set failed), not_run
    error: str | None = None


async def apply_batch(call: ToolCall, table: str, action: BulkAction) -> list[RowOutcome]:
    requests = [
        BatchRequest.update(action.entity_set, row.id, row.body, etag=row.etag) if action.operation == "update"
        and row.id else BatchRequest.create(action.entity_set, row.body)
        for row in action.rows
    ]
    items: list[BatchRequest | ChangeSet] = [ChangeSet(requests)] if action.atomic else list(requests)
    try:
        with dataverse_errors(operation=action.operation, table=table):
            result = await call.client.submit_batch(items, continue_on_error=not action.atomic)
    except DataverseRefusedError as error:
        if isinstance(error.__cause__, OutcomeUnknownError):
            check = ("query the table for the ids you sent and compare" if action.operation == "update"
                     else "query the table for the new records before sending them again")
            raise DataverseRefusedError(
                f"The outcome of the batch is unknown: the connection failed after it was sent. Some or all of its "
                f"{len(action.rows)} rows may have been applied; {check}.") from error
        raise
    outcomes = []
    for number, (row, operation) in enumerate(zip(action.rows, result.operations, strict=True), start=1):
        failure = operation.error
        outcomes.append(RowOutcome(
            row=number, id=row.id or operation.record_id, outcome=operation.outcome,
            error=(failure.message if failure is not None else None)))
    return outcomes
