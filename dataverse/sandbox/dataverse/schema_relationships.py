"""The relationships of the sandbox schema, as Dataverse names them: schema name, lookup column, the navigation
property on each end (ReferencingEntityNavigationPropertyName is what `@odata.bind` and `$expand` use) and the delete
cascade. Polymorphic lookups (customerid, parentcustomerid, regardingobjectid, ownerid) have one per target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dataverse.sandbox.dataverse.model import Table

REGARDING_TARGETS = ("account", "contact", "opportunity", "lead")

Cascade = Literal["Cascade", "RemoveLink", "Restrict", "NoCascade"]


@dataclass(frozen=True)
class Relationship:
    schema_name: str
    referencing_entity: str
    referencing_attribute: str
    referenced_entity: str
    referencing_navigation: str
    referenced_navigation: str
    cascade: Cascade = "RemoveLink"


def list_relationships(tables: dict[str, Table]) -> list[Relationship]:
    """Every one-to-many relationship between the sandbox tables (polymorphic lookups give one per target)."""
    found = [
        Relationship("account_primary_contact", "account", "primarycontactid", "contact", "primarycontactid",
                      "account_primary_contact"),
        Relationship("account_parent_account", "account", "parentaccountid", "account", "parentaccountid",
                      "account_parent_account"),
        Relationship("contact_customer_accounts", "contact", "parentcustomerid", "account", "parentcustomerid_account",
                      "contact_customer_accounts", "Cascade"),
        Relationship("contact_customer_contacts", "contact", "parentcustomerid", "contact", "parentcustomerid_contact",
                      "contact_customer_contacts", "Cascade"),
        Relationship("opportunity_customer_accounts", "opportunity", "customerid", "account", "customerid_account",
                      "opportunity_customer_accounts", "Cascade"),
        Relationship("opportunity_customer_contacts", "opportunity", "customerid", "contact", "customerid_contact",
                      "opportunity_customer_contacts", "Cascade"),
        Relationship("opportunity_parent_account", "opportunity", "parentaccountid", "account", "parentaccountid",
                      "opportunity_parent_account"),
        Relationship("opportunity_parent_contact", "opportunity", "parentcontactid", "contact", "parentcontactid",
                      "opportunity_parent_contact"),
        Relationship("lead_parent_account", "lead", "parentaccountid", "account", "parentaccountid",
                      "lead_parent_account"),
        Relationship("business_unit_system_users", "systemuser", "businessunitid", "businessunit", "businessunitid",
                      "business_unit_system_users", "Restrict"),
        Relationship("business_unit_parent_business_unit", "businessunit", "parentbusinessunitid", "businessunit",
                      "parentbusinessunitid", "business_unit_parent_business_unit", "Restrict"),
        Relationship("business_unit_teams", "team", "businessunitid", "businessunit", "businessunitid",
                      "business_unit_teams", "Restrict"),
        Relationship("lk_teambase_administratorid", "team", "administratorid", "systemuser", "administratorid",
                      "lk_teambase_administratorid", "Restrict"),
        Relationship("business_unit_roles", "role", "businessunitid", "businessunit", "businessunitid",
                      "business_unit_roles", "Cascade"),
    ]
    plural = {"account": "Account", "contact": "Contact", "opportunity": "Opportunity", "lead": "Lead"}
    activity_plural = {"appointment": "Appointments", "task": "Tasks", "phonecall": "Phonecalls", "email": "Emails",
                       "activitypointer": "ActivityPointers"}
    for activity, suffix in activity_plural.items():
        for target in REGARDING_TARGETS:
            navigation = f"regardingobjectid_{target}" + ("" if activity == "activitypointer" else f"_{activity}")
            name = f"{plural[target]}_{suffix}"
            found.append(Relationship(name, activity, "regardingobjectid", target, navigation, name, "Cascade"))
    for table in tables.values():
        if "ownerid" in table.columns:
            found.append(Relationship(f"user_{table.entity_set}", table.logical_name, "ownerid", "systemuser",
                                       "ownerid", f"user_{table.entity_set}", "Restrict"))
            found.append(Relationship(f"team_{table.entity_set}", table.logical_name, "ownerid", "team",
                                       "ownerid", f"team_{table.entity_set}", "Restrict"))
            for column, navigation in (("createdby", "createdby"), ("modifiedby", "modifiedby")):
                name = f"lk_{table.logical_name}base_{column}"
                found.append(Relationship(name, table.logical_name, column, "systemuser", navigation, name,
                                           "NoCascade"))
    return found
