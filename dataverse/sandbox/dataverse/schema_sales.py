"""The Sales tables the CRM work needs on top of the core schema: `opportunityclose` (the activity WinOpportunity and
LoseOpportunity create), `competitor` (organisation-owned) and `list` (marketing lists), their one-to-many
relationships, the lead back-links, and the many-to-many relationships through intersect tables
(opportunitycompetitors_association, listcontact_association), named as Dataverse names them."""

from __future__ import annotations

from dataverse.sandbox.dataverse.model import Column, ManyToMany, Option, Table
from dataverse.sandbox.dataverse.schema_columns import (
    boolean,
    choice,
    columns_by_name,
    datetime_column,
    lookup,
    memo,
    money,
    organization_owned_columns,
    owned_columns,
    primary_key,
    state,
    status,
    text,
)
from dataverse.sandbox.dataverse.schema_relationships import Relationship

LIST_MEMBER_TYPES = (Option(1, "Account"), Option(2, "Contact"), Option(4, "Lead"))

MANY_TO_MANY = (
    ManyToMany("opportunitycompetitors_association", "opportunitycompetitors",
               "opportunity", "opportunityid", "opportunitycompetitors_association",
               "competitor", "competitorid", "opportunitycompetitors_association"),
    ManyToMany("listcontact_association", "listmember",
               "list", "listid", "listcontact_association",
               "contact", "entityid", "listcontact_association"),
)


def lead_link_columns() -> tuple[Column, ...]:
    """`originatingleadid` on the records QualifyLead creates (account, contact, opportunity)."""
    return (lookup("originatingleadid", "Originating Lead", ("lead",)),)


def sales_tables() -> list[Table]:
    opportunityclose = Table(
        "opportunityclose", "opportunitycloses", "Opportunity Close", "Opportunity Close Activities", "activityid",
        "subject",
        columns_by_name(
            primary_key("activityid", "Opportunity Close"),
            text("subject", "Subject", max_length=200),
            memo("description", "Description"),
            lookup("opportunityid", "Opportunity", ("opportunity",), required="ApplicationRequired"),
            money("actualrevenue", "Actual Revenue"),
            datetime_column("actualend", "Actual End"),
            datetime_column("sortdate", "Sort Date"),  # computed as for every activity (row_rules)
            lookup("competitorid", "Competitor", ("competitor",)),
            text("activitytypecode", "Activity Type", max_length=64, create=False, update=False, kind="EntityName"),
            state((Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled"))),
            status((Option(1, "Open", 0), Option(2, "Completed", 1), Option(3, "Canceled", 2))),
            *owned_columns(),
        ),
        is_activity=True,
    )
    competitor = Table(
        "competitor", "competitors", "Competitor", "Competitors", "competitorid", "name",
        columns_by_name(
            primary_key("competitorid", "Competitor"),
            text("name", "Name", max_length=100, required="ApplicationRequired"),
            text("websiteurl", "Website", max_length=200),
            memo("strengths", "Strengths"),
            memo("weaknesses", "Weaknesses"),
            money("reportedrevenue", "Reported Revenue"),
            *organization_owned_columns(),
        ),
        ownership="OrganizationOwned",
    )
    marketing_list = Table(
        "list", "lists", "Marketing List", "Marketing Lists", "listid", "listname",
        columns_by_name(
            primary_key("listid", "List"),
            text("listname", "Name", max_length=128, required="SystemRequired"),
            choice("createdfromcode", "Targeted At", LIST_MEMBER_TYPES),
            boolean("type", "Type", true_label="Dynamic", false_label="Static"),
            text("purpose", "Purpose", max_length=512),
            memo("description", "Description"),
            Column("membercount", "Integer", "Members Count", valid_for_create=False, valid_for_update=False),
            state((Option(0, "Active"), Option(1, "Inactive"))),
            status((Option(0, "Active", 0), Option(1, "Inactive", 1))),
            *owned_columns(),
        ),
    )
    return [opportunityclose, competitor, marketing_list]


def sales_relationships() -> list[Relationship]:
    """The one-to-many relationships of the sales tables and the lead back-links."""
    return [
        Relationship("Opportunity_OpportunityClose", "opportunityclose", "opportunityid", "opportunity",
                     "opportunityid", "Opportunity_OpportunityClose", "Cascade"),
        Relationship("competitor_opportunity_activities", "opportunityclose", "competitorid", "competitor",
                     "competitorid", "competitor_opportunity_activities"),
        Relationship("account_originating_lead", "account", "originatingleadid", "lead", "originatingleadid",
                     "account_originating_lead"),
        Relationship("contact_originating_lead", "contact", "originatingleadid", "lead", "originatingleadid",
                     "contact_originating_lead"),
        Relationship("opportunity_originating_lead", "opportunity", "originatingleadid", "lead", "originatingleadid",
                     "opportunity_originating_lead"),
        Relationship("lead_parent_contact", "lead", "parentcontactid", "contact", "parentcontactid",
                     "lead_parent_contact"),
        Relationship("lead_qualifying_opportunity", "lead", "qualifyingopportunityid", "opportunity",
                     "qualifyingopportunityid", "lead_qualifying_opportunity"),
    ]

