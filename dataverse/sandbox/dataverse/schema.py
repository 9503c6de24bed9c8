"""The sample CRM schema of the sandbox Dataverse: the core sales tables and the activities (here), the CRM work's
sales tables (schema_sales), the timeline tables (schema_timeline), the system tables (schema_system) and the security
role and the account/contact columns Microsoft's documented examples use (schema_documented) as `model.Table`, with
their choice options, lookups, auditing flags and the ManyToOne/OneToMany/ManyToMany relationships (navigation
property names and cascade behaviour) Dataverse gives them.

`build_schema()` returns the tables keyed by logical name; it is pure and cheap, so each organisation builds its own.
"""

from __future__ import annotations

import dataclasses

from dataverse.sandbox.dataverse.model import Column, ManyToOne, OneToMany, Option, Table
from dataverse.sandbox.dataverse.schema_columns import (
    boolean,
    choice,
    columns_by_name,
    date_only,
    datetime_column,
    integer,
    lookup,
    memo,
    money,
    organization_owned_columns,
    owned_columns,
    primary_key,
    state,
    status,
    text,
    versionnumber,
)
from dataverse.sandbox.dataverse.schema_documented import account_columns, contact_columns, documented_tables
from dataverse.sandbox.dataverse.schema_relationships import REGARDING_TARGETS, list_relationships
from dataverse.sandbox.dataverse.schema_sales import MANY_TO_MANY, lead_link_columns, sales_relationships, sales_tables
from dataverse.sandbox.dataverse.schema_system import system_relationships, system_tables
from dataverse.sandbox.dataverse.schema_timeline import timeline_relationships, timeline_tables

ACTIVITY_TABLES = ("appointment", "task", "phonecall", "email", "opportunityclose")
# EntityDefinitions.IsAuditEnabled: the tables whose changes are recorded (when the organisation audits at all).
AUDITED_TABLES = frozenset({"account", "contact", "opportunity", "lead", "appointment", "task", "phonecall", "email",
                            "opportunityclose", "competitor", "list", "annotation", "systemuser", "team",
                            "businessunit", "userquery"})

INDUSTRY_OPTIONS = (
    Option(1, "Accounting"),
    Option(2, "Agriculture and Non-petrol Natural Resource Extraction"),
    Option(3, "Broadcasting Printing and Publishing"),
    Option(6, "Business Services"),
    Option(7, "Consulting"),
    Option(8, "Consumer Services"),
    Option(12, "Durable Manufacturing"),
    Option(16, "Financial"),
    Option(19, "Insurance"),
    Option(22, "Legal Services"),
    Option(25, "Non-Durable Merchandise Retail"),
    Option(29, "Retail"),
    Option(33, "Wholesale"),
)
RATING_OPTIONS = (Option(1, "Hot"), Option(2, "Warm"), Option(3, "Cold"))
PRIORITY_OPTIONS = (Option(0, "Low"), Option(1, "Normal"), Option(2, "High"))


def _activity_columns(table: str, extra: tuple[Column, ...], states: tuple[Option, ...],
                      statuses: tuple[Option, ...]) -> dict[str, Column]:
    return columns_by_name(
        primary_key("activityid", "Activity"),
        text("subject", "Subject", max_length=200, required="ApplicationRequired"),
        memo("description", "Description"),
        lookup("regardingobjectid", "Regarding", REGARDING_TARGETS),
        datetime_column("scheduledstart", "Start Time"),
        datetime_column("scheduledend", "Due" if table == "task" else "End Time"),
        datetime_column("actualend", "Actual End", create=True),
        datetime_column("sortdate", "Sort Date"),
        choice("prioritycode", "Priority", PRIORITY_OPTIONS),
        text("activitytypecode", "Activity Type", max_length=64, create=False, update=False, kind="EntityName"),
        *extra,
        state(states),
        status(statuses),
        *owned_columns(),
    )


def _tables() -> list[Table]:
    account = Table(
        "account", "accounts", "Account", "Accounts", "accountid", "name",
        columns_by_name(
            primary_key("accountid", "Account"),
            text("name", "Account Name", max_length=160, required="ApplicationRequired"),
            text("accountnumber", "Account Number", max_length=20),
            money("revenue", "Annual Revenue"),
            integer("numberofemployees", "Number of Employees"),
            choice("industrycode", "Industry", INDUSTRY_OPTIONS),
            text("telephone1", "Main Phone", max_length=50),
            text("emailaddress1", "Email", max_length=100),
            text("websiteurl", "Website", max_length=200),
            text("address1_city", "Address 1: City", max_length=80),
            text("address1_country", "Address 1: Country/Region", max_length=80),
            memo("description", "Description"),
            boolean("creditonhold", "Credit Hold", true_label="Yes", false_label="No"),
            lookup("primarycontactid", "Primary Contact", ("contact",)),
            lookup("parentaccountid", "Parent Account", ("account",)),
            state((Option(0, "Active"), Option(1, "Inactive"))),
            status((Option(1, "Active", 0), Option(2, "Inactive", 1))),
            *owned_columns(),
            *account_columns(),  # added after the others, so they number after them (AttributeMetadata.ColumnNumber)
            *lead_link_columns(),  # QualifyLead's back-link, numbered after those
        ),
    )
    contact = Table(
        "contact", "contacts", "Contact", "Contacts", "contactid", "fullname",
        columns_by_name(
            primary_key("contactid", "Contact"),
            text("firstname", "First Name", max_length=50, required="Recommended"),
            text("lastname", "Last Name", max_length=50, required="ApplicationRequired"),
            text("fullname", "Full Name", max_length=160, create=False, update=False),
            text("emailaddress1", "Email", max_length=100),
            text("jobtitle", "Job Title", max_length=100),
            text("telephone1", "Business Phone", max_length=50),
            text("mobilephone", "Mobile Phone", max_length=50),
            lookup("parentcustomerid", "Company Name", ("account", "contact"), kind="Customer"),
            date_only("birthdate", "Birthday"),
            boolean("donotemail", "Do not allow Emails", true_label="Do Not Allow", false_label="Allow"),
            choice("preferredcontactmethodcode", "Preferred Method of Contact",
                   (Option(1, "Any"), Option(2, "Email"), Option(3, "Phone"), Option(4, "Fax"), Option(5, "Mail"))),
            memo("description", "Description"),
            state((Option(0, "Active"), Option(1, "Inactive"))),
            status((Option(1, "Active", 0), Option(2, "Inactive", 1))),
            *owned_columns(),
            *contact_columns(),  # added after the others, so they number after them (AttributeMetadata.ColumnNumber)
            *lead_link_columns(),  # QualifyLead's back-link, numbered after those
        ),
    )
    opportunity = Table(
        "opportunity", "opportunities", "Opportunity", "Opportunities", "opportunityid", "name",
        columns_by_name(
            primary_key("opportunityid", "Opportunity"),
            text("name", "Topic", max_length=300, required="ApplicationRequired"),
            lookup("customerid", "Potential Customer", ("account", "contact"), kind="Customer"),
            lookup("parentaccountid", "Account", ("account",)),
            lookup("parentcontactid", "Contact", ("contact",)),
            money("estimatedvalue", "Est. Revenue"),
            date_only("estimatedclosedate", "Est. Close Date"),
            money("actualvalue", "Actual Revenue"),
            date_only("actualclosedate", "Actual Close Date"),
            integer("closeprobability", "Probability"),
            text("stepname", "Pipeline Phase", max_length=200),
            choice("salesstage", "Sales Stage",
                   (Option(0, "Qualify"), Option(1, "Develop"), Option(2, "Propose"), Option(3, "Close"))),
            choice("opportunityratingcode", "Rating", RATING_OPTIONS),
            memo("description", "Description"),
            state((Option(0, "Open"), Option(1, "Won"), Option(2, "Lost"))),
            status((Option(1, "In Progress", 0), Option(2, "On Hold", 0), Option(3, "Won", 1),
                    Option(4, "Canceled", 2), Option(5, "Out-Sold", 2))),
            *owned_columns(),
            *lead_link_columns(),  # QualifyLead's back-link, after the others (AttributeMetadata.ColumnNumber)
        ),
    )
    lead = Table(
        "lead", "leads", "Lead", "Leads", "leadid", "fullname",
        columns_by_name(
            primary_key("leadid", "Lead"),
            text("subject", "Topic", max_length=300, required="ApplicationRequired"),
            text("firstname", "First Name", max_length=50, required="Recommended"),
            text("lastname", "Last Name", max_length=50, required="ApplicationRequired"),
            text("fullname", "Name", max_length=160, create=False, update=False),
            text("companyname", "Company Name", max_length=100),
            text("emailaddress1", "Email", max_length=100),
            text("telephone1", "Business Phone", max_length=50),
            text("jobtitle", "Job Title", max_length=100),
            choice("leadqualitycode", "Rating", RATING_OPTIONS),
            choice("leadsourcecode", "Lead Source",
                   (Option(1, "Advertisement"), Option(2, "Employee Referral"), Option(3, "External Referral"),
                    Option(4, "Partner"), Option(5, "Public Relations"), Option(6, "Seminar"),
                    Option(7, "Trade Show"), Option(8, "Web"), Option(9, "Word of Mouth"), Option(10, "Other"))),
            choice("industrycode", "Industry", INDUSTRY_OPTIONS),
            money("revenue", "Annual Revenue"),
            lookup("parentaccountid", "Account", ("account",)),
            state((Option(0, "Open"), Option(1, "Qualified"), Option(2, "Disqualified"))),
            status((Option(1, "New", 0), Option(2, "Contacted", 0), Option(3, "Qualified", 1), Option(4, "Lost", 2),
                    Option(5, "Cannot Contact", 2), Option(6, "No Longer Interested", 2), Option(7, "Canceled", 2))),
            *owned_columns(),
            # what QualifyLead sets, after the others (AttributeMetadata.ColumnNumber)
            lookup("parentcontactid", "Contact", ("contact",)),
            lookup("qualifyingopportunityid", "Qualifying Opportunity", ("opportunity",)),
        ),
    )
    appointment = Table(
        "appointment", "appointments", "Appointment", "Appointments", "activityid", "subject",
        _activity_columns(
            "appointment", (text("location", "Location", max_length=200),),
            (Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled"), Option(3, "Scheduled")),
            (Option(1, "Free", 0), Option(2, "Tentative", 0), Option(3, "Completed", 1), Option(4, "Canceled", 2),
             Option(5, "Busy", 3), Option(6, "Out of Office", 3)),
        ),
        is_activity=True,
    )
    task = Table(
        "task", "tasks", "Task", "Tasks", "activityid", "subject",
        _activity_columns(
            "task", (integer("percentcomplete", "Percent Complete"),),
            (Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled")),
            (Option(2, "Not Started", 0), Option(3, "In Progress", 0), Option(4, "Waiting on someone else", 0),
             Option(5, "Completed", 1), Option(6, "Canceled", 2), Option(7, "Deferred", 0)),
        ),
        is_activity=True,
    )
    phonecall = Table(
        "phonecall", "phonecalls", "Phone Call", "Phone Calls", "activityid", "subject",
        _activity_columns(
            "phonecall",
            (text("phonenumber", "Phone Number", max_length=200),
             boolean("directioncode", "Direction", true_label="Outgoing", false_label="Incoming")),
            (Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled")),
            (Option(1, "Open", 0), Option(2, "Made", 1), Option(3, "Canceled", 2), Option(4, "Received", 1)),
        ),
        is_activity=True,
    )
    email = Table(
        "email", "emails", "Email", "Email Messages", "activityid", "subject",
        {
            **_activity_columns(
                "email",
                (boolean("directioncode", "Direction", true_label="Outgoing", false_label="Incoming"),),
                (Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled")),
                (Option(1, "Draft", 0), Option(8, "Failed", 0), Option(2, "Completed", 1), Option(3, "Sent", 1),
                 Option(4, "Received", 1), Option(6, "Pending Send", 1), Option(7, "Sending", 1),
                 Option(5, "Canceled", 2)),
            ),
            # the addresses the documented examples read (PD reference/entities/email.md), numbered after the rest
            **columns_by_name(text("sender", "From", max_length=250),
                              text("torecipients", "To Recipients", max_length=500)),
        },
        is_activity=True,
    )
    activitypointer = Table(  # read-only: the union of the activity tables, projected onto these columns
        "activitypointer", "activitypointers", "Activity", "Activities", "activityid", "subject",
        _activity_columns(
            "activitypointer", (),
            (Option(0, "Open"), Option(1, "Completed"), Option(2, "Canceled"), Option(3, "Scheduled")),
            (Option(1, "Open", 0), Option(2, "Completed", 1), Option(3, "Canceled", 2), Option(4, "Scheduled", 3)),
        ),
    )
    systemuser = Table(
        "systemuser", "systemusers", "User", "Users", "systemuserid", "fullname",
        columns_by_name(
            primary_key("systemuserid", "User"),
            text("firstname", "First Name", max_length=64),
            text("lastname", "Last Name", max_length=64, required="SystemRequired"),
            text("fullname", "Full Name", max_length=200, create=False, update=False),
            text("internalemailaddress", "Primary Email", max_length=100),
            text("domainname", "User Name", max_length=1024, required="SystemRequired"),
            text("title", "Title", max_length=128),
            text("azureactivedirectoryobjectid", "Azure AD Object ID", max_length=None, update=False,
                 kind="Uniqueidentifier"),
            lookup("businessunitid", "Business Unit", ("businessunit",), required="SystemRequired"),
            boolean("isdisabled", "Status", true_label="Disabled", false_label="Enabled", create=False),
            *organization_owned_columns(),
        ),
        ownership="OrganizationOwned",
    )
    businessunit = Table(
        "businessunit", "businessunits", "Business Unit", "Business Units", "businessunitid", "name",
        columns_by_name(
            primary_key("businessunitid", "Business Unit"),
            text("name", "Name", max_length=160, required="SystemRequired"),
            lookup("parentbusinessunitid", "Parent Business", ("businessunit",)),
            *organization_owned_columns(),
        ),
        ownership="OrganizationOwned",
    )
    team = Table(
        "team", "teams", "Team", "Teams", "teamid", "name",
        columns_by_name(
            primary_key("teamid", "Team"),
            text("name", "Team Name", max_length=160, required="SystemRequired"),
            lookup("businessunitid", "Business Unit", ("businessunit",), required="SystemRequired"),
            lookup("administratorid", "Administrator", ("systemuser",), required="SystemRequired"),
            choice("teamtype", "Team Type", (Option(0, "Owner"), Option(1, "Access"))),
            *organization_owned_columns(),
        ),
        ownership="OrganizationOwned",
    )
    usersettings = Table(
        "usersettings", "usersettingscollection", "User Settings", "User Settings", "systemuserid", "",
        columns_by_name(
            primary_key("systemuserid", "User"),
            integer("timezonecode", "Time Zone"),
            integer("uilanguageid", "User Interface Language"),
            integer("localeid", "Locale Id"),
            versionnumber(),
        ),
        ownership="OrganizationOwned",
    )
    return [account, contact, opportunity, lead, appointment, task, phonecall, email, activitypointer, systemuser,
            businessunit, team, usersettings, *sales_tables(), *timeline_tables(), *system_tables(),
            *documented_tables()]


def build_schema() -> dict[str, Table]:
    """The sandbox tables keyed by logical name, with relationships filled in on both ends."""
    tables = {table.logical_name: dataclasses.replace(table, audit_enabled=table.logical_name in AUDITED_TABLES)
              for table in _tables()}
    many_to_one: dict[str, list[ManyToOne]] = {name: [] for name in tables}
    one_to_many: dict[str, list[OneToMany]] = {name: [] for name in tables}
    for rel in [*list_relationships(tables), *sales_relationships(), *timeline_relationships(tables),
                *system_relationships(tables)]:
        referenced = tables[rel.referenced_entity]
        many_to_one[rel.referencing_entity].append(ManyToOne(
            rel.schema_name, rel.referencing_attribute, rel.referenced_entity, referenced.primary_id,
            rel.referencing_navigation))
        one_to_many[rel.referenced_entity].append(OneToMany(
            rel.schema_name, rel.referencing_entity, rel.referencing_attribute, rel.referenced_navigation,
            rel.cascade))
    return {
        name: dataclasses.replace(table, many_to_one=tuple(many_to_one[name]), one_to_many=tuple(one_to_many[name]),
                                  many_to_many=tuple(rel for rel in MANY_TO_MANY if name in (rel.entity1, rel.entity2)))
        for name, table in tables.items()
    }
