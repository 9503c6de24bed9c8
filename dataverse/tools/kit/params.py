"""The parameter types tools share, defined once: what a model sees for an environment, a table, a record id, a
column list and a cursor. A tool names its parameter with one of these and gets the same schema everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Environment = Annotated[
    str | None,
    Field(description="Dataverse environment URL; omit for the default environment."),
]
TableName = Annotated[str, Field(description="Table logical name, e.g. 'account', 'opportunity' (see list_tables).")]
RecordId = Annotated[str, Field(description="The record's id (a GUID).")]
Columns = Annotated[
    list[str] | str | None,
    Field(description="Column logical names to return (list or comma-separated). Omit for the primary name only; "
                      "ask only for what you need. Lookups can be named x or _x_value."),
]
Cursor = Annotated[
    str | None,
    Field(description="From a previous result's cursor: pass it alone to get the next page."),
]
