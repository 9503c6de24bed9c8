"""The predefined reports (reports_catalog.py), offered three ways so every client can reach them:

- the `run_report(name)` tool (read-only) for clients that only call tools;
- MCP prompts, one per report: getting the prompt runs the report as the caller and hands the model the result with
  an instruction ("summarise my open opportunities ...");
- MCP resources `report://<name>`: reading one runs the report as the caller and returns the result as JSON.

Every path runs the same FetchXML through the same Dataverse client as the signed-in user, pages through results up
to MAX_REPORT_ROWS, and shapes rows as the read tools do. A report that reads a table the administrator's policy
hides is not offered at all.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from dataverse.tools.context import ToolCall, ToolRuntime
from dataverse.tools.errors import DataverseToolError, InvalidArgumentError, dataverse_errors
from dataverse.tools.registration import without_parameter
from dataverse.tools.reports_catalog import Report, available_reports
from dataverse.tools.results import ResultModel, tool_result
from dataverse.tools.shaping import shape_rows
from dataverse.tools.tables import resolve_table
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

    def __init__(self, runtime: ToolRuntime):
        self.runtime = runtime
        self.reports = available_reports(runtime.settings)

    def get_report(self, name: str) -> Report:
        key = (name or "").strip().lower().replace("_", "-").replace(" ", "-")
        report = self.reports.get(key)
        if report is None:
            raise InvalidArgumentError(
                f"There is no report named {name!r}. Available reports: {', '.join(self.reports)}."
            )
        return report

    async def create_result(self, report: Report, environment: str | None = None) -> ReportResult:
        """The report's rows for the signed-in user (every page, up to MAX_REPORT_ROWS)."""
        call = self.runtime.begin_call(environment)
        summary = await resolve_table(self.runtime, call, report.table)
        if report.aggregate:
            with dataverse_errors(table=report.table):
                page = await call.client.fetch_xml(summary.entity_set, report.fetch_xml)
            return ReportResult(report=report.name, title=report.title, table=report.table,
                                rows=shape_rows(page.rows), more=False)
        rows, more = await self._all_pages(call, summary.entity_set, report)
        return ReportResult(report=report.name, title=report.title, table=report.table, rows=shape_rows(rows),
                            more=more)

    async def _all_pages(self, call: ToolCall, entity_set: str, report: Report) -> tuple[list[dict], bool]:
        rows: list[dict] = []
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

    # --- the three ways in --------------------------------------------------------------------------------------
    async def run_report(
        self,
        name: Annotated[str, Field(description="The report's name, e.g. 'my-open-opportunities'.")],
        environment: Annotated[str | None, Field(description="Dataverse environment URL; omit for the default.")]
        = None,
    ) -> Annotated[CallToolResult, ReportResult]:
        return tool_result(await self.create_result(self.get_report(name), environment))

    async def render_prompt(self, report: Report, environment: str | None = None) -> str:
        result = await self.create_result(report, environment)
        data = json.dumps(result.model_dump(mode="json", exclude_none=True), separators=(",", ":"), ensure_ascii=False)
        cut = f" (only the first {MAX_REPORT_ROWS} rows)" if result.more else ""
        return (f"{report.instruction}\n\nHere is the Dataverse report \"{report.title}\", run as me just now: "
                f"{len(result.rows)} rows{cut}. Null columns are left out; lookups are {{table,id,name}}.\n{data}")

    async def read_resource(self, report: Report) -> str:
        try:
            result = await self.create_result(report)
        except DataverseToolError as error:
            raise ResourceError(str(error)) from error
        return json.dumps(result.model_dump(mode="json", exclude_none=True), separators=(",", ":"),
                          ensure_ascii=False)


def _tool_description(runner: ReportRunner) -> str:
    listed = "; ".join(f"'{report.name}': {report.description}" for report in runner.reports.values())
    return (f"Run a predefined sales report as the signed-in user and get its rows (at most {MAX_REPORT_ROWS}). "
            f"Reports: {listed}")


def register_report_tools(server: MCPServer, runtime: ToolRuntime) -> ReportRunner:
    """Add run_report, one prompt and one `report://<name>` resource per report the table policy allows."""

    runner = ReportRunner(runtime)
    if not runner.reports:
        return runner
    multi_environment = len(runtime.environments) > 1
    run = runner.run_report if multi_environment else without_parameter(runner.run_report, "environment")
    server.add_tool(
        run, name="run_report", title="Run a report", description=_tool_description(runner),
        annotations=ToolAnnotations(title="Run a report", readOnlyHint=True, destructiveHint=False,
                                    idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    for report in runner.reports.values():
        _register_prompt(server, runner, report, multi_environment=multi_environment)
        _register_resource(server, runner, report)
    return runner


def _register_prompt(server: MCPServer, runner: ReportRunner, report: Report, *, multi_environment: bool) -> None:
    if multi_environment:
        async def prompt(environment: Annotated[str | None, Field(
                description="Dataverse environment URL; omit for the default.")] = None) -> str:
            return await runner.render_prompt(report, environment)
    else:
        async def prompt() -> str:
            return await runner.render_prompt(report)

    server.prompt(name=report.name, title=report.title, description=report.description)(prompt)


def _register_resource(server: MCPServer, runner: ReportRunner, report: Report) -> None:
    async def read() -> str:
        return await runner.read_resource(report)

    server.resource(report.uri, name=report.name, title=report.title, mime_type="application/json",
                    description=f"{report.description} Reading it runs the report as the signed-in user "
                                "(default environment).")(read)
