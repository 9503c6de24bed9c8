"""The parameter types tools share, defined once: what a model sees for an environment, a table, a record id, a
column list and a cursor. A tool names its parameter with one of these and gets the same schema everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Environment = Annotated[
    str | None,
    Field(description="Environment URL (list_environments); omit for the default."),
]
TableName = Annotated[str, Field(description="Table logical name, e.g. 'account'.")]
RecordId = Annotated[str, Field(description="Record id (GUID).")]
Columns = Annotated[
    list[str] | str | None,
    Field(description="Column logical names (list or comma-separated); lookups as x or _x_value."),
]
Cursor = Annotated[
    str | None,
    Field(description="A previous result's cursor, alone, for the next page."),
]
