"""Each widget in headless Chromium, hosted by the test host page (host.html, driven by driver.py) and fed REAL tool
results: the full sandbox app, signed in as Alice, called through the official MCP client. A widget's own calls
(the grid's next page) go through the host back to the same server.

Every run checks the host's rules, the network, the console and axe (`WidgetPage.assert_well_behaved`), in a light
host theme with host CSS variables and a dark one with the widget's own fallbacks; the Claude Desktop variant gets a
result without structuredContent. Screenshots are kept in test-artifacts/widgets/.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mcp.client.session import ClientSession

from dataverse.sandbox.users import ALICE
from dataverse.tools.apps import CARD_URI, CHART_URI, GRID_URI, TIMELINE_URI
from tests.e2e.harness import E2E, running_app
from tests.tools.apps.driver import (
    CLAUDE_LIKE_LIGHT,
    DARK_HOST,
    THEMES,
    WidgetPage,
    widget_host,
    without_structured_content,
)
from tests.tools.apps.timeline_fixture import FIXTURE_CURSOR, timeline_pages

PHONE_WIDTH = 360
CHARTED_REPORTS = ("pipeline-by-stage", "team-pipeline-by-owner", "pipeline-by-month")
GRID_COLUMNS = ["name", "estimatedvalue", "estimatedclosedate", "customerid", "salesstage", "ownerid"]


@dataclass
class Sandbox:
    e2e: E2E
    session: ClientSession

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tools/call result as it travels on the wire (camelCase JSON)."""
        result = await self.session.call_tool(name, arguments)
        assert not result.is_error, result.content
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def forward(self, params: dict[str, Any]) -> dict[str, Any]:
        """The host's answer to a widget's tools/call: the same call made to the real server."""
        return await self.call(params["name"], params.get("arguments") or {})

    async def widget_html(self, uri: str) -> str:
        return (await self.session.read_resource(uri)).contents[0].text

    @property
    def environment(self) -> str:
        return self.e2e.settings.dataverse_urls[0].rstrip("/")


@contextlib.asynccontextmanager
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_app() as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            yield Sandbox(e2e, session)


def bar_label(row: dict[str, Any]) -> str:
    if "month" in row:
        return datetime.date(row["year"], row["month"], 1).strftime("%b %Y")
    group = row.get("stage", row.get("owner"))
    return group["name"] if isinstance(group, dict) else str(group)


async def bars(widget: WidgetPage) -> list[tuple[str, float]]:
    labels = await widget.attribute(".bar-row", "data-label")
    values = await widget.attribute(".bar-row", "data-value")
    return [(str(label), float(str(value))) for label, value in zip(labels, values, strict=True)]


async def row_ids(widget: WidgetPage) -> list[str | None]:
    return await widget.attribute("tbody tr", "data-id")


async def test_the_chart_draws_one_bar_per_report_row_with_its_value_and_count():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(CHART_URI)
        results = {name: await dataverse.call("run_report", {"name": name}) for name in CHARTED_REPORTS}
        async with widget_host(html, tool_name="run_report") as host:
            for name, result in results.items():
                rows = result["structuredContent"]["rows"]
                assert len(rows) > 0
                for theme in THEMES:
                    widget = await host.open(result, theme=theme, tool_input={"name": name})
                    await widget.wait_for(".bar-row")
                    assert await bars(widget) == [(bar_label(row), row["total"]) for row in rows]
                    await widget.settle()
                    await widget.assert_well_behaved()
                    await widget.screenshot(f"chart-{name}-{theme.name}")
                    counts = widget.frame.locator('button[data-measure="n"]')
                    await counts.focus()
                    await widget.page.keyboard.press("Enter")
                    assert await widget.attribute('button[data-measure="n"]', "aria-pressed") == ["true"]
                    assert await bars(widget) == [(bar_label(row), row["n"]) for row in rows]
                    await widget.page.close()


async def test_the_chart_reads_the_text_content_when_structured_content_is_stripped_and_fits_a_phone():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(CHART_URI)
        result = await dataverse.call("run_report", {"name": "pipeline-by-month"})
        rows = result["structuredContent"]["rows"]
        async with widget_host(html, tool_name="run_report") as host:
            widget = await host.open(without_structured_content(result), theme=DARK_HOST,
                                     tool_input={"name": "pipeline-by-month"}, width=PHONE_WIDTH)
            await widget.wait_for(".bar-row")
            assert await bars(widget) == [(bar_label(row), row["total"]) for row in rows]
            await widget.settle()
            await widget.assert_well_behaved()
            await widget.screenshot("chart-pipeline-by-month-text-only-360")


async def test_the_chart_of_a_report_of_records_draws_one_bar_per_record_within_500_px():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(CHART_URI)
        result = await dataverse.call("run_report", {"name": "my-open-opportunities"})
        rows = result["structuredContent"]["rows"]
        assert len(rows) > 20
        async with widget_host(html, tool_name="run_report") as host:
            widget = await host.open(result, theme=CLAUDE_LIKE_LIGHT, tool_input={"name": "my-open-opportunities"})
            await widget.wait_for(".bar-row")
            assert await bars(widget) == [(row["name"], row["estimatedvalue"]) for row in rows]
            await widget.settle()
            await widget.assert_well_behaved()
            await widget.screenshot("chart-my-open-opportunities-light")


async def test_the_chart_follows_the_host_theme_when_it_changes():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(CHART_URI)
        result = await dataverse.call("run_report", {"name": "pipeline-by-stage"})
        async with widget_host(html, tool_name="run_report") as host:
            widget = await host.open(result, theme=CLAUDE_LIKE_LIGHT, tool_input={"name": "pipeline-by-stage"})
            await widget.wait_for(".bar-row")
            await widget.set_theme(DARK_HOST)
            assert DARK_HOST.variables is not None
            color = await widget.frame.evaluate("() => getComputedStyle(document.body).color")
            assert color == "rgb(236, 236, 236)"  # DARK_HOST's --color-text-primary, #ececec
            await widget.settle()
            await widget.assert_well_behaved()


async def test_the_grid_shows_the_rows_and_fetches_the_next_page_through_the_host_with_the_cursor():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(GRID_URI)
        arguments = {"table": "opportunity", "select": GRID_COLUMNS, "top": 5}
        first = await dataverse.call("query_records", arguments)
        cursor = first["structuredContent"]["cursor"]
        second = await dataverse.call("query_records", {"cursor": cursor})
        first_ids = [row["opportunityid"] for row in first["structuredContent"]["rows"]]
        second_ids = [row["opportunityid"] for row in second["structuredContent"]["rows"]]
        assert first_ids and second_ids and not set(first_ids) & set(second_ids)
        async with widget_host(html, tool_name="query_records", server_tool=dataverse.forward) as host:
            for theme in THEMES:
                widget = await host.open(first, theme=theme, tool_input=arguments)
                await widget.wait_for("tbody tr")
                assert await row_ids(widget) == first_ids
                assert await widget.texts("tbody tr:first-child td") == [
                    "Consolidated Messenger Europe - Support renewal", "326,000", "2025-10-15",
                    "Consolidated Messenger Europe", "Close", "Alice Anders"]
                await widget.settle()
                await widget.assert_well_behaved()
                await widget.screenshot(f"grid-{theme.name}")
                await widget.frame.locator("#next").click()
                await widget.frame.locator("p.sub", has_text="Rows 6–10").wait_for()
                assert await widget.host_state("calls") == [{"name": "query_records",
                                                             "arguments": {"cursor": cursor}}]
                assert await row_ids(widget) == second_ids
                await widget.frame.locator("#previous").click()
                assert await row_ids(widget) == first_ids
                assert len(await widget.host_state("calls")) == 1  # the first page was kept, not fetched again
                await widget.settle()
                await widget.assert_well_behaved()
                await widget.page.close()


async def test_the_grid_sorts_a_full_page_by_a_column_from_the_keyboard_within_500_px():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(GRID_URI)
        arguments = {"table": "opportunity", "select": GRID_COLUMNS}  # the default page: 50 rows
        result = await dataverse.call("query_records", arguments)
        values = [row["estimatedvalue"] for row in result["structuredContent"]["rows"]]
        assert len(values) == 50
        async with widget_host(html, tool_name="query_records") as host:
            widget = await host.open(result, theme=CLAUDE_LIKE_LIGHT, tool_input=arguments)
            await widget.wait_for("tbody tr")
            header = widget.frame.locator('th:has(button[data-column="estimatedvalue"])')
            await widget.frame.locator('button[data-column="estimatedvalue"]').focus()
            await widget.page.keyboard.press("Enter")
            assert await header.get_attribute("aria-sort") == "ascending"
            shown = [float(text.replace(",", "")) for text in await widget.texts("tbody td.number")]
            assert shown == sorted(values)
            await widget.page.keyboard.press("Enter")  # the focus stays on the header button
            assert await header.get_attribute("aria-sort") == "descending"
            shown = [float(text.replace(",", "")) for text in await widget.texts("tbody td.number")]
            assert shown == sorted(values, reverse=True)
            await widget.settle()
            await widget.assert_well_behaved()


async def test_the_grid_reads_the_text_content_when_structured_content_is_stripped_and_fits_a_phone():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(GRID_URI)
        arguments = {"table": "account", "top": 4}
        result = await dataverse.call("query_records", arguments)
        ids = [row["accountid"] for row in result["structuredContent"]["rows"]]
        async with widget_host(html, tool_name="query_records", server_tool=dataverse.forward) as host:
            widget = await host.open(without_structured_content(result), theme=DARK_HOST, tool_input=arguments,
                                     width=PHONE_WIDTH)
            await widget.wait_for("tbody tr")
            assert await row_ids(widget) == ids
            await widget.settle()
            await widget.assert_well_behaved()
            await widget.screenshot("grid-text-only-360")


async def test_the_card_groups_fields_reads_choices_and_lookups_and_opens_the_record_in_dynamics():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(CARD_URI)
        listed = await dataverse.call("query_records", {"table": "opportunity", "top": 1})
        record_id = listed["structuredContent"]["rows"][0]["opportunityid"]
        arguments = {"table": "opportunity", "id": record_id}
        result = await dataverse.call("get_record", arguments)
        record = result["structuredContent"]["record"]
        async with widget_host(html, tool_name="get_record") as host:
            for theme, variant, width in ((CLAUDE_LIKE_LIGHT, result, 720), (THEMES[1], result, 720),
                                          (DARK_HOST, without_structured_content(result), PHONE_WIDTH)):
                widget = await host.open(variant, theme=theme, tool_input=arguments, width=width)
                await widget.wait_for("section")
                assert await widget.texts("h1") == [record["name"]]
                status = widget.frame.locator('[data-group="status"] [data-column="statecode"] dd')
                assert await status.inner_text() == record["statecode"]["label"]
                customer = widget.frame.locator('[data-group="related"] [data-column="customerid"] dd')
                assert await customer.inner_text() == record["customerid"]["name"]
                value = widget.frame.locator('[data-group="details"] [data-column="estimatedvalue"] dd')
                assert await value.inner_text() == f"{record['estimatedvalue']:,.0f}"
                await widget.settle()
                await widget.assert_well_behaved()
                await widget.screenshot(f"card-{theme.name}-{width}")
                await widget.frame.get_by_role("link", name="Open in Dynamics 365").click()
                await customer.get_by_role("link").click()
                assert await widget.host_state("links") == [
                    f"{dataverse.environment}/main.aspx?pagetype=entityrecord&etn=opportunity&id={record_id}",
                    f"{dataverse.environment}/main.aspx?pagetype=entityrecord&etn=account"
                    f"&id={record['customerid']['id']}"]
                assert len(widget.page.frames) == 2, "a link navigated or opened a frame instead of asking the host"
                await widget.page.close()


async def test_the_timeline_shows_the_items_newest_first_and_loads_more_through_the_host():
    async with sandbox() as dataverse:
        html = await dataverse.widget_html(TIMELINE_URI)
        first, second = await timeline_pages(dataverse.session, dataverse.environment)
        result = {"content": [{"type": "text", "text": json.dumps(first)}], "structuredContent": first,
                  "isError": False}
        arguments = {"table": "account", "id": first["id"]}

        async def get_timeline(params: dict[str, Any]) -> dict[str, Any]:
            assert params == {"name": "get_timeline", "arguments": {"cursor": FIXTURE_CURSOR}}
            return {"content": [{"type": "text", "text": json.dumps(second)}], "structuredContent": second,
                    "isError": False}

        async with widget_host(html, tool_name="get_timeline", server_tool=get_timeline) as host:
            for theme, variant, width in ((CLAUDE_LIKE_LIGHT, result, 720), (THEMES[1], result, 720),
                                          (DARK_HOST, without_structured_content(result), PHONE_WIDTH)):
                widget = await host.open(variant, theme=theme, tool_input=arguments, width=width)
                await widget.wait_for(".item")
                assert await widget.attribute(".item", "data-id") == [item["id"] for item in first["items"]]
                assert await widget.texts(".item strong") == [item["subject"] for item in first["items"]]
                await widget.settle()
                await widget.assert_well_behaved()
                await widget.screenshot(f"timeline-{theme.name}-{width}")
                await widget.frame.locator("#more").click()
                everything = first["items"] + second["items"]
                await widget.frame.locator(f'.item[data-id="{everything[-1]["id"]}"]').wait_for()
                assert await widget.attribute(".item", "data-id") == [item["id"] for item in everything]
                assert await widget.frame.locator("#more").count() == 0
                await widget.frame.locator(".item .link").first.click()
                assert await widget.host_state("links") == [first["items"][0]["url"]]
                await widget.settle()
                await widget.assert_well_behaved()
                await widget.page.close()
