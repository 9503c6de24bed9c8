"""Schema reads for the tools, cached: the table list, a table's columns or its full description, how its date-time
columns store values, and the signed-in user's profile (whoami). Every read goes through the caller's Dataverse
client; the cache (kit/cache.py) decides how long each lives.

Reading rows needs only a table's columns and their types, so `resolve_columns` gets them in one request (the table's
definition with its attributes) and reads the table list only for a name that is no table's logical name; a cold
query_records therefore costs two Dataverse requests, not the list, the twelve that describe a table, and the query.
"""

from __future__ import annotations

from pydantic import Field

from dataverse.tools.kit.context import ToolCall
from dataverse.tools.kit.errors import dataverse_errors, unknown_table_error
from dataverse.tools.kit.results import ResultModel
from dataverse.tools.schema.policy import check_expand_policy, require_table_allowed, restricts_tables, table_allowed
from dataverse.tools.values.timezones import WINDOWS_TIMEZONE_CODES
from dataverse.webapi.errors import NotFoundError
from dataverse.webapi.models import DateTimeBehavior, TableColumns, TableMetadata, TableSummary
from dataverse.webapi.odata import validate_logical_name


class WhoAmIResult(ResultModel):
    user_id: str = Field(description="The signed-in user's Dataverse systemuserid (use it in ownerid filters).")
    name: str
    email: str | None = None
    business_unit: str | None = None
    time_zone_code: int | None = Field(None, description="Dataverse time zone code of the user's settings.")
    time_zone: str | None = Field(None, description="The time zone's name (IANA), e.g. America/New_York.")
    environment: str = Field(description="The Dataverse environment URL these tools are reading.")


async def get_whoami(call: ToolCall) -> WhoAmIResult:
    """The signed-in user's id, name, email, business unit and time zone, cached per user and environment."""

    async def create() -> WhoAmIResult:
        with dataverse_errors():
            identity = await call.client.whoami()
            profile = await call.client.get_user_profile(identity.user_id)
        return WhoAmIResult(
            user_id=identity.user_id, name=profile.full_name, email=profile.email,
            business_unit=profile.business_unit, time_zone_code=profile.timezone_code,
            time_zone=WINDOWS_TIMEZONE_CODES.get(profile.timezone_code) if profile.timezone_code is not None else None,
            environment=call.environment,
        )

    return await call.runtime.metadata.get_whoami(call.environment, call.user, create)


async def list_tables(call: ToolCall) -> list[TableSummary]:
    """Every table in the environment the policy allows, from the 24-hour cache."""

    async def create() -> list[TableSummary]:
        with dataverse_errors():
            return await call.client.list_tables()

    tables = await call.runtime.metadata.list_tables(call.environment, create)
    return [table for table in tables if table_allowed(call.settings, table.logical_name)]


async def resolve_table(call: ToolCall, name: str) -> TableSummary:
    """The table a model means by `name` (a logical name; an entity set name is accepted too)."""
    wanted = (name or "").strip().lower()
    require_table_allowed(call.settings, wanted)
    tables = await list_tables(call)
    for table in tables:
        if table.logical_name == wanted:
            return table
    for table in tables:
        if table.entity_set.lower() == wanted:
            return table
    raise unknown_table_error(name, [table.logical_name for table in tables])


async def get_table(call: ToolCall, table: TableSummary) -> TableMetadata:
    """Columns and relationships of `table`, from the one-hour cache."""

    async def create() -> TableMetadata:
        with dataverse_errors(table=table.logical_name):
            return await call.client.get_table(table.logical_name)

    return await call.runtime.metadata.get_table(call.environment, table.logical_name, create)


async def describe_named_table(call: ToolCall, name: str) -> TableMetadata:
    """The full description of the table a model means by `name`."""
    return await get_table(call, await resolve_table(call, name))


async def resolve_columns(call: ToolCall, name: str) -> TableColumns:
    """The table a model means by `name`, with its columns' names and types: what reading rows needs. From the cache
    (its own entry, or a cached full description); else one request for the table's definition with its attributes.
    The table list is read only when that finds no table (an entity set name, or a mistake)."""
    wanted = (name or "").strip().lower()
    require_table_allowed(call.settings, wanted)
    if _is_logical_name(wanted):
        columns = await get_columns(call, wanted)
        if columns is not None:
            return columns
    summary = await resolve_table(call, name)
    columns = await get_columns(call, summary.logical_name)
    if columns is None:  # listed a moment ago, gone now
        raise unknown_table_error(name, [table.logical_name for table in await list_tables(call)])
    return columns


async def get_columns(call: ToolCall, logical_name: str) -> TableColumns | None:
    """The columns of the table `logical_name` from the one-hour cache, or None if the environment has no such
    listed table."""
    full = call.runtime.metadata.cached_table(call.environment, logical_name)
    if full is not None:
        return full.columns_only()

    async def create() -> TableColumns | None:
        with dataverse_errors(table=logical_name):
            try:
                columns = await call.client.get_table_columns(logical_name)
            except NotFoundError:
                return None
        return columns if columns.listed else None

    return await call.runtime.metadata.get_columns(call.environment, logical_name, create)


async def get_datetime_behaviors(call: ToolCall, logical_name: str) -> dict[str, DateTimeBehavior]:
    """How each DateTime column of the table stores values, cached beside the table's description."""

    async def create() -> dict[str, DateTimeBehavior]:
        with dataverse_errors(table=logical_name):
            return await call.client.get_datetime_behaviors(logical_name)

    return await call.runtime.metadata.get_datetime_behaviors(call.environment, logical_name, create)


async def enforce_expand_policy(call: ToolCall, table: TableSummary, expand: str | None) -> None:
    """`check_expand_policy` against the table's full description, fetched only when it can matter."""
    if expand and restricts_tables(call.settings):
        check_expand_policy(call.settings, await get_table(call, table), expand)


def _is_logical_name(name: str) -> bool:
    try:
        validate_logical_name(name)
    except ValueError:
        return False
    return True
