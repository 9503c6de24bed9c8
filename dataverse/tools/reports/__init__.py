"""The predefined reports (catalog.py), offered three ways so every client can reach them:

- the `run_report(name)` tool (read-only) for clients that only call tools;
- MCP prompts, one per report: getting the prompt runs the report as the caller and hands the model the result with
  an instruction ("summarise my open opportunities ...");
- MCP resources `report://<name>`: reading one runs the report as the caller and returns the result as JSON.

Every path runs the same FetchXML through the same Dataverse client as the signed-in user (runner.py), pages through
results up to MAX_REPORT_ROWS, and shapes rows as the read tools do. A report that reads a table the administrator's
policy hides is not offered at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from dataverse.tools.apps import CHART_URI
from dataverse.tools.kit.context import ToolCall, ToolRuntime
from dataverse.tools.kit.params import Environment
from dataverse.tools.kit.registry import READ_ONLY, ToolGroup
from dataverse.tools.reports.catalog import Report, available_reports
from dataverse.tools.reports.runner import MAX_REPORT_ROWS, ReportResult, ReportRunner


def setup(runtime: ToolRuntime) -> ReportRunner | None:
    """The runner over the reports the table policy allows; None (no report tool) when it allows none."""
    runner = ReportRunner(runtime, available_reports(runtime.settings))
    return runner if runner.reports else None


def _names_as_enum(runner: ReportRunner, schema: dict[str, Any]) -> dict[str, Any]:
    """The `name` parameter lists exactly the reports this deployment offers."""
    schema["properties"]["name"]["enum"] = list(runner.reports)
    return schema


group: ToolGroup[ReportRunner] = ToolGroup("reports", setup=setup)


@group.tool(title="Run a report", annotations=READ_ONLY, input_schema=_names_as_enum, widget=CHART_URI,
            description=f"A predefined sales report, run as the signed-in user (at most {MAX_REPORT_ROWS} rows).")
async def run_report(
    call: ToolCall,
    name: Annotated[str, Field(description="Which report.")],
) -> ReportResult:
    runner = group.state(call)
    return await runner.create_result(call, runner.get_report(name))


@group.extension
def add_prompts_and_resources(server: MCPServer, runner: ReportRunner, runtime: ToolRuntime) -> None:
    """One prompt and one `report://<name>` resource per report."""
    multi_environment = len(runtime.environments) > 1
    for report in runner.reports.values():
        server.prompt(name=report.name, title=report.title, description=report.description)(
            _prompt(runner, report, multi_environment=multi_environment))
        server.resource(report.uri, name=report.name, title=report.title, mime_type="application/json",
                        description=f"{report.description} Reading it runs the report as the signed-in user "
                                    "(default environment).")(_resource(runner, report))


def _prompt(runner: ReportRunner, report: Report, *, multi_environment: bool) -> Callable[..., Awaitable[str]]:
    async def in_environment(environment: Environment = None) -> str:
        return await runner.render_prompt(report, environment)

    async def in_default_environment() -> str:
        return await runner.render_prompt(report)

    return in_environment if multi_environment else in_default_environment


def _resource(runner: ReportRunner, report: Report) -> Callable[[], Awaitable[str]]:
    async def read() -> str:
        return await runner.read_resource(report)

    return read
