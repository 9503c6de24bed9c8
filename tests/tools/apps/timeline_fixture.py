"""A get_timeline result built from sandbox records, for the timeline widget before the tool exists.

The coming `get_timeline(table, id)` tool returns, newest first:

    {"table": str, "id": str,
     "items": [{"kind": "task|phonecall|appointment|email|note", "id": str, "subject": str, "when": ISO 8601,
                "who": {"id", "name"}?, "status": {"value", "label"}?, "body": str?, "url": str?}],
     "more": bool, "cursor": str?}

`timeline_pages` builds that shape from what the existing tools return for one account: its activities through
`query_records` on `activitypointer` (regarding the account), `when` being the activity's actual end, else its
scheduled end, else its scheduled start; `who` its owner; `status` its state; `url` its page in Dynamics 365. It cuts
the items into two pages: the first says more=true with FIXTURE_CURSOR, and the test host answers the widget's
get_timeline call for that cursor with the second.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mcp.client.session import ClientSession

from tests.e2e.harness import payload

FIXTURE_CURSOR = "fixture-page-2"
FIRST_PAGE_ITEMS = 3
KINDS = ("task", "phonecall", "appointment", "email", "note")
COLUMNS = ["subject", "activitytypecode", "scheduledstart", "scheduledend", "actualend", "statecode", "ownerid",
           "description", "regardingobjectid"]


async def timeline_pages(session: ClientSession, environment_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two pages of the timeline of the account with the most activities the caller can read."""
    every = payload(await session.call_tool("query_records", {"table": "activitypointer", "select": COLUMNS,
                                                               "top": 500}))["rows"]
    regarding = Counter(row["regardingobjectid"]["id"] for row in every
                        if row.get("regardingobjectid", {}).get("table") == "account")
    account_id = regarding.most_common(1)[0][0]
    rows = payload(await session.call_tool("query_records", {
        "table": "activitypointer", "select": COLUMNS, "filter": f"_regardingobjectid_value eq {account_id}"}))["rows"]
    items = sorted((_item(row, environment_url) for row in rows), key=lambda item: item["when"], reverse=True)
    assert len(items) > FIRST_PAGE_ITEMS, "the fixture needs an account with more activities than one page"
    first = {"table": "account", "id": account_id, "items": items[:FIRST_PAGE_ITEMS], "more": True,
             "cursor": FIXTURE_CURSOR}
    second = {"table": "account", "id": account_id, "items": items[FIRST_PAGE_ITEMS:], "more": False}
    return first, second


def _item(row: dict[str, Any], environment_url: str) -> dict[str, Any]:
    kind = row["activitytypecode"]
    assert kind in KINDS, kind
    item: dict[str, Any] = {
        "kind": kind, "id": row["activityid"], "subject": row.get("subject", ""),
        "when": row.get("actualend") or row.get("scheduledend") or row["scheduledstart"],
        "url": f"{environment_url}/main.aspx?pagetype=entityrecord&etn={kind}&id={row['activityid']}",
    }
    if "ownerid" in row:
        item["who"] = {"id": row["ownerid"]["id"], "name": row["ownerid"]["name"]}
    if "statecode" in row:
        item["status"] = row["statecode"]
    if row.get("description"):
        item["body"] = row["description"]
    return item
