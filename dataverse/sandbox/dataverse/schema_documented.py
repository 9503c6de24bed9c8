"""The tables and columns Microsoft's documented Web API examples use that the sample CRM schema lacked.

- email: an activity table like the others, so it is defined with them in schema.py (with `sender`, `torecipients`
  and `directioncode`, which the documented examples read; PD reference/entities/email.md); its
  `Account_Emails`/`Contact_Emails`/... collections are what the lambda examples filter on (PD
  webapi/query/filter-rows.md, `Account_Emails/any(e:contains(e/subject,'sometext'))`).
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
    choice,
    lookup,
    money,
    organization_owned_columns,
    primary_key,
    text,
)

ACCOUNT_CATEGORY_OPTIONS = (Option(1, "Preferred Customer"), Option(2, "Standard"))


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


def documented_tables() -> list[Table]:
    role_columns = (
        primary_key("roleid", "Role"),
        text("name", "Name", max_length=100, required="SystemRequired"),
        lookup("businessunitid", "Business Unit", ("businessunit",), required="SystemRequired", update=False),
        *organization_owned_columns(),
    )
    role = Table("role", "roles", "Security Role", "Security Roles", "roleid", "name",
                 {column.logical_name: column for column in role_columns}, ownership="OrganizationOwned")
    return [role]
