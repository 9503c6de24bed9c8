"""The predefined sales reports: for each, a name, a title, a description, the FetchXML Dataverse runs as the signed-in
user, and the instruction a prompt gives the model along with the result.

Relative dates (`this-month`, `last-x-days`) and the current user (`eq-userid`) are FetchXML operators, so Dataverse
evaluates them for the caller, in the caller's time zone; row security decides which records each person's report
covers. The tables a report touches are read from its FetchXML, so the table policy applies to reports unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from dataverse.settings import Settings
from dataverse.tools.schema.policy import table_allowed
from dataverse.webapi.fetchxml import entity_name, validate_fetch_xml

STALE_AFTER_DAYS = 14
QUIET_AFTER_DAYS = 30


@dataclass(frozen=True)
class Report:
    name: str  # kebab-case: the prompt name, the resource path (report://<name>) and run_report's argument
    title: str
    description: str
    fetch_xml: str
    instruction: str  # what a prompt asks the model to do with the result

    @property
    def aggregate(self) -> bool:
        return self._root().get("aggregate", "").lower() == "true"

    @property
    def table(self) -> str:
        return entity_name(self.fetch_xml)

    @property
    def tables(self) -> frozenset[str]:
        """Every table the report reads: its entity and each link-entity."""
        return frozenset(str(element.get("name", "")).lower() for element in self._root().iter()
                         if element.tag in ("entity", "link-entity"))

    @property
    def uri(self) -> str:
        return f"report://{self.name}"

    def _root(self) -> Element:
        return validate_fetch_xml(self.fetch_xml)


def _open_opportunities(*conditions: str, link: str = "", order: str = "estimatedclosedate") -> str:
    return (
        "<fetch><entity name='opportunity'>"
        "<attribute name='name'/><attribute name='estimatedvalue'/><attribute name='estimatedclosedate'/>"
        "<attribute name='customerid'/><attribute name='ownerid'/><attribute name='stepname'/>"
        f"<filter><condition attribute='statecode' operator='eq' value='0'/>{''.join(conditions)}</filter>"
        f"{link}<order attribute='{order}'/></entity></fetch>"
    )


def _no_activity_since(days: int, *, to: str) -> str:
    return (
        f"<link-entity name='activitypointer' from='regardingobjectid' to='{to}' link-type='not any'>"
        f"<filter><condition attribute='createdon' operator='last-x-days' value='{days}'/></filter></link-entity>"
    )


REPORTS: tuple[Report, ...] = (
    Report(
        name="my-open-opportunities",
        title="My open opportunities",
        description="Open opportunities the signed-in user owns, soonest expected close first, with estimated "
                    "revenue, customer and pipeline phase.",
        fetch_xml=_open_opportunities("<condition attribute='ownerid' operator='eq-userid'/>"),
        instruction="Summarise my open opportunities: how many, their total estimated revenue, which close soonest "
                    "and any whose expected close date has already passed.",
    ),
    Report(
        name="pipeline-by-stage",
        title="Pipeline by stage",
        description="Open opportunities the signed-in user can see, grouped by pipeline phase: number of "
                    "opportunities and total estimated revenue per phase.",
        fetch_xml=(
            "<fetch aggregate='true'><entity name='opportunity'>"
            "<attribute name='stepname' alias='stage' groupby='true'/>"
            "<attribute name='estimatedvalue' alias='total' aggregate='sum'/>"
            "<attribute name='opportunityid' alias='n' aggregate='count'/>"
            "<filter><condition attribute='statecode' operator='eq' value='0'/></filter>"
            "<order alias='stage'/></entity></fetch>"
        ),
        instruction="Describe the pipeline by stage: count and total estimated revenue per phase, where most of "
                    "the value sits, and the overall total.",
    ),
    Report(
        name="accounts-without-recent-activity",
        title=f"Accounts with no activity in {QUIET_AFTER_DAYS} days",
        description=f"Active accounts the signed-in user can see with no appointment, task or phone call recorded "
                    f"against them in the last {QUIET_AFTER_DAYS} days.",
        fetch_xml=(
            "<fetch><entity name='account'>"
            "<attribute name='name'/><attribute name='ownerid'/><attribute name='address1_city'/>"
            "<filter><condition attribute='statecode' operator='eq' value='0'/></filter>"
            f"{_no_activity_since(QUIET_AFTER_DAYS, to='accountid')}"
            "<order attribute='name'/></entity></fetch>"
        ),
        instruction="List the accounts that have gone quiet and suggest which to contact first.",
    ),
    Report(
        name="closing-this-month",
        title="Opportunities closing this month",
        description="Open opportunities the signed-in user can see whose expected close date falls in the current "
                    "calendar month, with owner, customer and estimated revenue.",
        fetch_xml=_open_opportunities("<condition attribute='estimatedclosedate' operator='this-month'/>"),
        instruction="Summarise the opportunities expected to close this month: total estimated revenue, the "
                    "largest ones, and who owns them.",
    ),
    Report(
        name="stale-opportunities",
        title=f"Stale opportunities (no activity in {STALE_AFTER_DAYS} days)",
        description=f"Open opportunities the signed-in user can see with no appointment, task or phone call "
                    f"recorded against them in the last {STALE_AFTER_DAYS} days: deals that may be slipping.",
        fetch_xml=_open_opportunities(link=_no_activity_since(STALE_AFTER_DAYS, to="opportunityid")),
        instruction="Point out the open opportunities nobody has worked on recently, largest estimated revenue "
                    "first, and who owns each.",
    ),
    Report(
        name="team-pipeline-by-owner",
        title="Team pipeline by owner",
        description="Open opportunities the signed-in user can see, grouped by owner: number of opportunities and "
                    "total estimated revenue per person. For sales managers reviewing their team.",
        fetch_xml=(
            "<fetch aggregate='true'><entity name='opportunity'>"
            "<attribute name='ownerid' alias='owner' groupby='true'/>"
            "<attribute name='estimatedvalue' alias='total' aggregate='sum'/>"
            "<attribute name='opportunityid' alias='n' aggregate='count'/>"
            "<filter><condition attribute='statecode' operator='eq' value='0'/></filter>"
            "<order alias='total' descending='true'/></entity></fetch>"
        ),
        instruction="Compare the pipeline per owner: count and total estimated revenue for each person, and who "
                    "carries the most.",
    ),
    Report(
        name="pipeline-by-month",
        title="Pipeline by month",
        description="Open opportunities the signed-in user can see, grouped by the month of their expected close "
                    "date: number of opportunities and total estimated revenue per month.",
        fetch_xml=(
            "<fetch aggregate='true'><entity name='opportunity'>"
            "<attribute name='estimatedclosedate' alias='year' groupby='true' dategrouping='year'/>"
            "<attribute name='estimatedclosedate' alias='month' groupby='true' dategrouping='month'/>"
            "<attribute name='estimatedvalue' alias='total' aggregate='sum'/>"
            "<attribute name='opportunityid' alias='n' aggregate='count'/>"
            "<filter><condition attribute='statecode' operator='eq' value='0'/></filter>"
            "<order alias='year'/><order alias='month'/></entity></fetch>"
        ),
        instruction="Describe the pipeline by expected close month: count and total estimated revenue per month, "
                    "the busiest months, and any open opportunities whose month has already passed.",
    ),
)


def available_reports(settings: Settings) -> dict[str, Report]:
    """The reports whose every table the administrator's allow/deny lists permit, by name."""
    return {report.name: report for report in REPORTS
            if all(table_allowed(settings, table) for table in report.tables)}
