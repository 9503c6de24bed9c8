"""Hostile arguments through the real tools: table names, ids, columns, filters, orderings, expands, FetchXML and
cursors. Whatever comes in, the answer is a tool result or a tool error (never a JSON-RPC error or a 500), and no
request that reaches the sandbox has a path other than the known Web API paths or a query parameter the client did not
mean to send. Requests are recorded by the pooled client's transport, exactly as the sandbox receives them."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.conftest import ToolHarness

API = "/api/data/v9.2/"
QUERY_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$expand", "$count", "fetchXml"}
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ATTACKS = [
    "account?$top=1", "accounts/../systemusers", "account&$filter=true", "account#frag", "../../WhoAmI",
    "x' or 1 eq 1 or name eq '", "name eq 'a'&$expand=owninguser", "name%27%20or%201%20eq%201", "%2F..%2Fsystemusers",
    "\r\nX-Injected: 1", "account\x00", "$batch", "accounts(00000000-0000-0000-0000-000000000001)/ownerid",
    "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><fetch><entity name='account'>&e;</entity></fetch>",
    "<fetch><entity name='account'><filter><condition attribute='name' operator='eq' value='x&amp;$top=1'/>"
    "</filter></entity></fetch>", "<fetch><entity name='systemuser/../account'/></fetch>",
    "eyJhbGciOiJub25lIn0.e30.", "....", "a" * 5000, "名前", "name;$select=*", "@odata.nextLink", "null", "",
]
hostile = st.one_of(
    st.sampled_from(ATTACKS),
    st.builds(lambda prefix, attack: prefix + attack, st.sampled_from(["account", "name", "accounts", "x"]),
              st.sampled_from(ATTACKS)),
    st.text(max_size=120),
)
HYPOTHESIS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def known_paths(harness: ToolHarness) -> list[re.Pattern[str]]:
    org = harness.organization
    sets = "|".join(re.escape(t.entity_set) for t in org.tables.values())
    names = "|".join(re.escape(name) for name in org.tables)
    metadata_tail = (r"(/Attributes(/Microsoft\.Dynamics\.CRM\.\w+)?|/ManyToOneRelationships|/OneToManyRelationships"
                     r"|/ManyToManyRelationships)?")
    return [
        re.compile(rf"{re.escape(API)}({sets})(\({GUID}\))?"),
        re.compile(rf"{re.escape(API)}EntityDefinitions(\(LogicalName='({names})'\){metadata_tail})?"),
        # reading asks for a definition by the name given, once it has the shape of a logical name (no quote, slash)
        re.compile(rf"{re.escape(API)}EntityDefinitions\(LogicalName='[a-z_][a-z0-9_]{{0,127}}'\)"),
        re.compile(rf"{re.escape(API)}(WhoAmI|systemusers\({GUID}\)|usersettingscollection\({GUID}\))"),
    ]


async def call_and_check(harness: ToolHarness, tool: str, arguments: dict) -> dict:
    harness.recorder.requests.clear()
    result = await harness.call(tool, arguments)  # asserts HTTP 200 and a JSON-RPC result, not an error
    assert isinstance(result.get("isError"), bool) and result["content"], result
    check_requests(harness, arguments)
    return result


def check_requests(harness: ToolHarness, arguments: object) -> None:
    """Every recorded request: a GET to a known Web API path with only the client's own query options, once each."""
    patterns = known_paths(harness)
    for method, url in harness.recorder.requests:
        assert method == "GET", (method, url)
        path = unquote(url.raw_path.decode("ascii").split("?", 1)[0])
        assert any(p.fullmatch(path) for p in patterns), f"unexpected path {path!r} for {arguments!r}"
        names = [name for name, _ in parse_qsl(url.query.decode("ascii"), keep_blank_values=True)]
        assert len(names) == len(set(names)) and set(names) <= QUERY_OPTIONS, f"query {names} for {arguments!r}"
        assert "#" not in str(url) and "\n" not in str(url), url


async def test_the_request_check_catches_a_changed_path_or_an_added_parameter(tools: ToolHarness):
    base = tools.environment_url + API
    for smuggled in (base + "accounts?$top=1&$filter=true&$top=2", base + "accounts?$select=name&evil=1",
                     base + "accounts/WhoAmI", base + "acounts"):
        tools.recorder.requests.clear()
        await tools.http.get(smuggled)
        try:
            check_requests(tools, smuggled)
        except AssertionError:
            continue
        raise AssertionError(f"the check let {smuggled!r} through")


@HYPOTHESIS
@given(table=hostile)
async def test_hostile_table_names_never_reach_the_path(tools: ToolHarness, table: str):
    await call_and_check(tools, "query_records", {"table": table})
    await call_and_check(tools, "describe_table", {"table": table})


@HYPOTHESIS
@given(select=st.lists(hostile, max_size=3), filter=hostile, orderby=hostile)
async def test_hostile_columns_filters_and_orderings_stay_inside_their_own_query_option(
    tools: ToolHarness, select: list[str], filter: str, orderby: str
):
    for arguments in ({"select": select}, {"filter": filter}, {"orderby": orderby}, {"expand": filter}):
        await call_and_check(tools, "query_records", {"table": "account", "top": 3, **arguments})


@HYPOTHESIS
@given(record_id=hostile, table=st.sampled_from(["account", "contact", "opportunity"]))
async def test_hostile_record_ids_are_refused_or_looked_up_as_a_guid(tools: ToolHarness, record_id: str, table: str):
    result = await call_and_check(tools, "get_record", {"table": table, "id": record_id})
    if not re.fullmatch(r"\{?" + GUID + r"\}?", record_id.strip().lower()):
        assert result["isError"] is True
        assert not tools.recorder.requests or all("(" not in url.path.rsplit("/", 1)[-1]
                                                  for _, url in tools.recorder.requests)


@HYPOTHESIS
@given(fetchxml=hostile)
async def test_hostile_fetchxml_is_refused_or_sent_only_as_the_fetchxml_parameter(tools: ToolHarness, fetchxml: str):
    result = await call_and_check(tools, "fetchxml_query", {"fetchxml": fetchxml})
    if "<!DOCTYPE" in fetchxml or "<!ENTITY" in fetchxml:
        assert result["isError"] is True
        assert not any("fetchXml" in str(url) for _, url in tools.recorder.requests)


@HYPOTHESIS
@given(cursor=hostile)
async def test_forged_cursors_are_refused_without_any_request(tools: ToolHarness, cursor: str):
    for tool in ("query_records", "fetchxml_query"):
        result = await call_and_check(tools, tool, {"cursor": cursor})
        if cursor:
            assert result["isError"] is True, result
            assert not [url for _, url in tools.recorder.requests if "/EntityDefinitions" not in url.path]
