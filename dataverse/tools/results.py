"""The structured results the read tools return (their MCP output schemas) and the one way they are sent.

Results go out as a `CallToolResult` whose structured content is the model dumped without nulls and whose text
content is the same JSON, compact (no indentation): clients that only read text get exactly the same data.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field


class ResultModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def tool_result(result: ResultModel) -> CallToolResult:
    """The wire form of a result: nulls left out, compact JSON text mirroring the structured content."""
    data = result.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


class WhoAmIResult(ResultModel):
    user_id: str = Field(description="The signed-in user's Dataverse systemuserid (use it in ownerid filters).")
    name: str
    email: str | None = None
    business_unit: str | None = None
    time_zone_code: int | None = Field(None, description="Dataverse time zone code of the user's settings.")
    environment: str = Field(description="The Dataverse environment URL these tools are reading.")


class TableEntry(ResultModel):
    name: str = Field(description="Logical name: what every other tool's `table` argument takes.")
    display_name: str | None = None
    entity_set: str = Field(description="Entity set name (the plural used in Web API URLs).")


class TableListResult(ResultModel):
    tables: list[TableEntry]
    total: int = Field(description="How many tables matched, including any not listed.")
    more: bool | None = Field(None, description="True when more tables matched than are listed; narrow `search`.")


class ChoiceEntry(ResultModel):
    value: int
    label: str
    state: int | None = Field(None, description="For status reasons: the statecode this status belongs to.")


class ColumnEntry(ResultModel):
    name: str
    type: str
    display_name: str | None = None
    required: bool | None = Field(None, description="True when Dataverse requires a value on create.")
    create: bool = Field(description="Can be set when creating a record.")
    update: bool = Field(description="Can be changed when updating a record.")
    choices: list[ChoiceEntry] | None = None
    targets: list[str] | None = Field(None, description="Lookup: the tables it can point at.")
    filter_as: str | None = Field(None, description="Lookup: the name to use in filter/orderby (_x_value).")
    bind: dict[str, str] | None = Field(
        None, description="Lookup: navigation property per target table, for '<nav>@odata.bind' and $expand."
    )
    max_length: int | None = None


class RelatedCollection(ResultModel):
    name: str = Field(description="Collection-valued navigation property, usable in $expand.")
    table: str
    column: str = Field(description="The lookup column on the related table that points back here.")


class TableDescriptionResult(ResultModel):
    table: str
    display_name: str | None = None
    entity_set: str
    primary_id: str
    primary_name: str | None = None
    columns: list[ColumnEntry]
    related: list[RelatedCollection] | None = None


class RefreshSchemaResult(ResultModel):
    cleared: int = Field(description="How many cached schema entries were dropped.")
    environment: str


class RowsResult(ResultModel):
    table: str
    rows: list[dict[str, Any]] = Field(
        description="Records; null columns are left out, lookups are {table,id,name}, choices {value,label}, "
                    "date-times ISO 8601 at the user's UTC offset."
    )
    count: int | None = Field(None, description="Total matching records (when count was requested; capped at 5000).")
    more: bool = Field(description="True when there is another page: call again with `cursor`.")
    cursor: str | None = Field(None, description="Pass alone to the same tool to get the next page.")


class RecordResult(ResultModel):
    table: str
    record: dict[str, Any]
