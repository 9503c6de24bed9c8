"""The report catalogue: every report is valid FetchXML naming the tables it reads, user-relative where it says "my",
and the table policy removes exactly the reports that read a hidden table."""

from __future__ import annotations

from dataverse.settings import Settings
from dataverse.tools.reports.catalog import REPORTS, available_reports

BASE = {"dataverse_urls": ["https://contoso.crm.dynamics.com"]}


def test_report_names_are_unique_kebab_case_and_resource_uris_follow():
    names = [report.name for report in REPORTS]
    assert len(names) == len(set(names)) >= 5
    assert all(name == name.lower() and " " not in name and "_" not in name for name in names)
    assert {report.uri for report in REPORTS} == {f"report://{name}" for name in names}


def test_tables_come_from_the_fetchxml_including_link_entities():
    by_name = {report.name: report for report in REPORTS}
    assert by_name["accounts-without-recent-activity"].tables == {"account", "activitypointer"}
    assert by_name["stale-opportunities"].tables == {"opportunity", "activitypointer"}
    assert by_name["pipeline-by-stage"].aggregate and not by_name["my-open-opportunities"].aggregate


def test_my_report_filters_on_the_current_user():
    mine = next(report for report in REPORTS if report.name == "my-open-opportunities")
    assert "operator='eq-userid'" in mine.fetch_xml and "attribute='ownerid'" in mine.fetch_xml


def test_policy_removes_reports_that_read_hidden_tables():
    everything = available_reports(Settings(**BASE))
    no_activities = available_reports(Settings(**BASE, table_denylist=["activitypointer"]))
    only_opportunities = available_reports(Settings(**BASE, table_allowlist=["opportunity"]))
    assert set(everything) == {report.name for report in REPORTS}
    assert set(everything) - set(no_activities) == {"accounts-without-recent-activity", "stale-opportunities"}
    assert set(only_opportunities) == {"my-open-opportunities", "pipeline-by-stage", "closing-this-month",
                                       "team-pipeline-by-owner", "pipeline-by-month"}
