"""The widgets (MCP Apps `ui://` resources) this server offers: for each, its versioned URI, the template that draws
it and how it is listed. Bump a URI's version when its template changes, because hosts cache UI resources by URI."""

from __future__ import annotations

from dataclasses import dataclass

CHART_URI = "ui://dataverse/chart-v1.html"  # run_report results: bars, or a funnel by stage
GRID_URI = "ui://dataverse/grid-v1.html"  # query_records and fetchxml_query results: sortable, paged by cursor
CARD_URI = "ui://dataverse/card-v1.html"  # get_record results: fields grouped, link to the record in Dynamics
TIMELINE_URI = "ui://dataverse/timeline-v1.html"  # get_timeline results (the tool comes next)


@dataclass(frozen=True)
class Widget:
    uri: str
    template: str  # file name under templates/
    name: str
    title: str
    description: str


WIDGETS: tuple[Widget, ...] = (
    Widget(CHART_URI, "chart.html", "report-chart", "Report chart",
           "Draws a run_report result: bars per group (stage, owner, month) or a funnel by stage."),
    Widget(GRID_URI, "grid.html", "record-grid", "Record grid",
           "Shows query_records and fetchxml_query rows in a sortable table; the next page comes from the same "
           "tool, called again with the cursor."),
    Widget(CARD_URI, "card.html", "record-card", "Record card",
           "Shows a get_record result as a card: fields grouped, choices and lookups by name, and a link that "
           "opens the record in Dynamics 365."),
    Widget(TIMELINE_URI, "timeline.html", "record-timeline", "Record timeline",
           "Shows a record's activities and notes (a get_timeline result) newest first."),
)
