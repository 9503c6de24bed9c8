"""Running a report as the caller: its FetchXML through the caller's Dataverse client, every page up to
MAX_REPORT_ROWS, rows shaped as the read tools shape them; and the forms a prompt and a resource hand out."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver.exceptions import ResourceError
from pydantic import Field

from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.errors import DataverseToolError, InvalidArgumentError, dataverse_errors
from dataverse.tools.kit.results import ResultModel, compact_json
from dataverse.tools.reports.catalog import Report
from dataverse.tools.schema.lookup import resolve_table
from dataverse.tools.values.shaping import shape_rows
from dataverse.webapi.fetchxml import with_paging

MAX_REPORT_ROWS = 500
REPORT_PAGE_SIZE = 250


class ReportResult(ResultModel):
    report: str
    title: str
    table: str
    rows: list[dict[str, Any]] = Field(
        description="Records or aggregate groups; null columns are left out, lookups are {table,id,name}."
    )
    more: bool = Field(description=f"True when the report has more than {MAX_REPORT_ROWS} rows and was cut there.")


class ReportRunner:
    """Runs the reports the policy allows, as the caller of the current MCP request."""

    def __init__(self, runtime: ToolRuntime, reports: dict[str, Report]):
        self.runtime = runtime
        self.reports = reports

    def get_report(self, name: str) -> Report:
        key = (name or "").strip().lower().replace("_", "-").replace(" ", "-")
        report = self.reports.get(key)
        if report is None:
            raise InvalidArgumentError(
                f"There is no report named {name!r}. Available reports: {', '.join(self.reports)}."
            )
        return report

    async def create_result(self, call: ToolCall, report: Report) -> ReportResult:
        """The report's rows for the signed-in user (every page, up to MAX_REPORT_ROWS)."""
        summary = await resolve_table(call, report.table)
        if report.aggregate:
            with dataverse_errors(table=report.table):
                page = await call.client.fetch_xml(summary.entity_set, report.fetch_xml)
            return ReportResult(report=report.name, title=report.title, table=report.table,
                                rows=shape_rows(page.rows), more=False)
        rows, more = await self._all_pages(call, summary.entity_set, report)
        return ReportResult(report=report.name, title=report.title, table=report.table, rows=shape_rows(rows),
                            more=more)

    async def _all_pages(self, call: ToolCall, entity_set: str, report: Report) -> tuple[list[dict[str, Any]], bool]:
        rows: list[dict[str, Any]] = []
        page_number, cookie = 1, None
        while True:
            with dataverse_errors(table=report.table):
                xml = with_paging(report.fetch_xml, page=page_number, count=REPORT_PAGE_SIZE, paging_cookie=cookie)
                page = await call.client.fetch_xml(entity_set, xml)
            rows.extend(page.rows)
            if len(rows) >= MAX_REPORT_ROWS:
                return rows[:MAX_REPORT_ROWS], page.more_records or len(rows) > MAX_REPORT_ROWS
            if not page.more_records:
                return rows, False
            page_number, cookie = page.next_page or page_number + 1, page.paging_cookie

    async def render_prompt(self, report: Report, environment: str | None = None) -> str:
        result = await self.create_result(self.runtime.begin_call(environment), report)
        data = compact_json(result.model_dump(mode="json", exclude_none=True))
        cut = f" (only the first {MAX_REPORT_ROWS} rows)" if result.more else ""
        return (f"{report.instruction}\n\nHere is the Dataverse report \"{report.title}\", run as me just now: "
                f"{len(result.rows)} rows{cut}. Null columns are left out; lookups are {{table,id,name}}.\n{data}")

    async def read_resource(self, report: Report) -> str:
        try:
            result = await self.create_result(self.runtime.begin_call(), report)
        except DataverseToolError as error:
            raise ResourceError(str(error)) from error
        return compact_json(result.model_dump(mode="json", exclude_none=True))
