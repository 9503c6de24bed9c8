""""Show me all contacts from Contoso": a lookup-traversal filter paged with the cursor through the official MCP
client, until `more` is false; the union of the pages is exactly the sandbox's answer for the caller."""

from __future__ import annotations

from dataverse.sandbox.users import ALICE, CAROL
from tests.e2e.harness import payload, readable, running_app

CONTOSO_CONTACTS = "startswith(parentcustomerid_account/name,'Contoso')"


def contoso_contacts(organization, user) -> set[str]:
    accounts = {row["accountid"] for row in organization.all_rows("account") if row["name"].startswith("Contoso")}
    return {row["contactid"] for row in readable(organization, user, "contact")
            if row.get("parentcustomerid") is not None and row["parentcustomerid"].id in accounts}


async def test_all_contacts_from_contoso_arrive_page_by_page_with_the_cursor():
    async with running_app() as e2e:
        for user in (CAROL, ALICE):
            expected = contoso_contacts(e2e.organization, user)
            seen: list[str] = []
            pages = 0
            async with e2e.session(await e2e.sign_in(user)) as session:
                page = payload(await session.call_tool("query_records", {
                    "table": "contact", "filter": CONTOSO_CONTACTS, "select": ["fullname", "parentcustomerid"],
                    "top": 3}))
                while True:
                    pages += 1
                    seen += [row["contactid"] for row in page["rows"]]
                    assert all(row["parentcustomerid"]["name"].startswith("Contoso") for row in page["rows"])
                    if not page.get("more"):
                        break
                    page = payload(await session.call_tool("query_records", {"cursor": page["cursor"]}))
            assert len(seen) == len(set(seen)), "a row came twice"
            assert set(seen) == expected
            if user is CAROL:
                assert len(expected) > 3 and pages == -(-len(expected) // 3)  # several pages were walked
