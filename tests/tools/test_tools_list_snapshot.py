"""tools/list, seen through the official MCP client, keeps every tool's name, title, annotations, input schema and
output schema (descriptions aside) as recorded in snapshots/tools_list.json. The snapshot was taken before the tools
moved onto the registry; a deliberate change to a tool's contract updates it in the same commit, so the diff shows
what clients will see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dataverse.sandbox.users import ALICE
from tests.e2e.harness import running_app
from tests.tools.conftest import build_harness, running

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "readonly": {"access_mode": "read_only"},
}


def contract(tools: list[Any]) -> dict[str, Any]:
    """What a client depends on, descriptions and the closed-schema flag aside."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("description", "additionalProperties")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    listed = {}
    for tool in tools:
        dumped = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        listed[tool.name] = {key: strip(dumped.get(key)) for key in ("title", "annotations", "inputSchema",
                                                                      "outputSchema")}
    return listed


@pytest.mark.parametrize("configuration", list(CONFIGURATIONS))
async def test_tools_list_matches_the_snapshot(configuration: str):
    async with running_app(**CONFIGURATIONS[configuration]) as e2e:
        async with e2e.session(await e2e.sign_in(ALICE)) as session:
            tools = (await session.list_tools()).tools
    assert contract(tools) == json.loads(SNAPSHOT.read_text())[configuration]


async def test_tools_list_with_several_environments_matches_the_snapshot():
    urls = ["https://sandbox.crm.example.com", "https://other.crm.example.com"]
    async with running(build_harness(settings_update={"dataverse_urls": urls})) as harness:
        async with harness.session(ALICE) as session:
            tools = (await session.list_tools()).tools
    assert contract(tools) == json.loads(SNAPSHOT.read_text())["multi"]
