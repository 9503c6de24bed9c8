"""The tables and columns Microsoft's documented Web API examples use that the sample CRM schema lacked.

- email (`emails`, key `activityid`, name `subject`): an activity table, so it appears in activitypointers and has
  the `Account_Emails`/`Contact_Emails`/... collections the lambda examples filter on (PD webapi/query/filter-rows.md,
  `Account_Emails/any(e:contains(e/subject,'sometext'))`); columns from PD reference/entities/email.md.
- role (`roles`, key `roleid`, name `name`, SystemRequired `businessunitid`, business-owned): the security role
  web-api-basic-operations-sample.md creates (`{"businessunitid@odata.bind": ..., "name": ...}`); columns from PD
  reference/entities/role.md.
- account: `accountcategorycode`, `address1_line1`, `address1_latitude`, `address1_longitude`, which
  create-entity-web-api.md and update-delete-entities-using-web-api.md set and read.
- contact: `annualincome`, which web-api-query-data-sample.md selects, filters and aggregates throughout.
"""

from __future__ import annotations

from dataverse.sandbox.dataverse.model import Column, Option, Table
from dataverse.sandbox.dataverse.schema_columns import (
    boolean,
    choice,
    datetime_column,
    lookup,
    memo,
    money,
    owned_columns,
    primary_key,
    state,
    status,
    text,
    versionnumber,
)

ACCOUNT_CATEGORY_OPTIONS = (Option(1, "Preferred Customer"), Option(2, "Standard"))
EMAIL_STATES = (Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled"))
EMAIL_STATUSES = (Option(1, "Draft", 0), Option(8, "Failed", 0), Option(2, "Completed", 1), Option(3, "Sent", 1),
                  Option(4, "Received", 1), Option(6, "Pending Send", 1), Option(7, "Sending", 1),
                  Option(5, "Canceled", 2))


def _double(name: str, display: str) -> Column:
    return Column(name, "Double", display)


def account_columns() -> tuple[Column, ...]:
    return (
        choice("accountcategorycode", "Category", ACCOUNT_CATEGORY_OPTIONS),
        text("address1_line1", "Address 1: Street 1", max_length=250),
        _double("address1_latitude", "Address 1: Latitude"),
        _double("address1_longitude", "Address 1: Longitude"),
    )


def contact_columns() -> tuple[Column, ...]:
    return (money("annualincome", "Annual Income"),)


def email_columns(regarding_targets: tuple[str, ...], priority: tuple[Option, ...]) -> dict[str, Column]:
    columns = (
        primary_key("activityid", "Email Message"),
        text("subject", "Subject", max_length=800),
        memo("description", "Description"),
        lookup("regardingobjectid", "Regarding", regarding_targets),
        boolean("directioncode", "Direction", true_label="Outgoing", false_label="Incoming"),
        text("sender", "From", max_length=250),
        text("torecipients", "To Recipients", max_length=500),
        datetime_column("scheduledstart", "Start Date"),
        datetime_column("scheduledend", "Due Date"),
        datetime_column("actualend", "Actual End"),
        choice("prioritycode", "Priority", priority),
        text("activitytypecode", "Activity Type", max_length=64, create=False, update=False, kind="EntityName"),
        state(EMAIL_STATES),
        status(EMAIL_STATUSES),
        *owned_columns(),
    )
    return {column.logical_name: column for column in columns}


def documented_tables(regarding_targets: tuple[str, ...], priority: tuple[Option, ...]) -> list[Table]:
    email = Table("email", "emails", "Email", "Email Messages", "activityid", "subject",
                  email_columns(regarding_targets, priority), is_activity=True)
    role_columns = (
        primary_key("roleid", "Role"),
        text("name", "Name", max_length=100, required="SystemRequired"),
        lookup("businessunitid", "Business Unit", ("businessunit",), required="SystemRequired", update=False),
        datetime_column("createdon", "Created On", create=False, update=False),
        datetime_column("modifiedon", "Modified On", create=False, update=False),
        versionnumber(),
    )
    role = Table("role", "roles", "Security Role", "Security Roles", "roleid", "name",
                 {column.logical_name: column for column in role_columns}, ownership="OrganizationOwned")
    return [email, role]
