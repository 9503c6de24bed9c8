"""The sandbox FetchXML engine: the four reports, operators, link types, paging walks, aggregates and hostile input."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from fake_dataset import ACC, ALICE, OPP, FakeDataset, alice_context, build_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from dataverse.sandbox.dataverse.fetchxml import run_fetch
from dataverse.sandbox.dataverse.model import LookupValue, SandboxError

DATASET = FakeDataset()
CTX = alice_context()
RAW = build_rows()


def fetch(xml: str, dataset: FakeDataset = DATASET):
    return run_fetch(xml, dataset, CTX)


def error(xml: str) -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        fetch(xml)
    assert caught.value.status == 400
    return caught.value


def account_names(condition: str) -> list[str]:
    result = fetch(f'<fetch><entity name="account"><attribute name="name"/><filter>{condition}</filter>'
                   f'<order attribute="name"/></entity></fetch>')
    return [row["name"] for row in result.rows]


# ---- the four reports of the reference ----

def test_report_my_open_opportunities() -> None:
    result = fetch('<fetch><entity name="opportunity"><attribute name="name"/><attribute name="estimatedvalue"/>'
                   '<attribute name="estimatedclosedate"/><attribute name="customerid"/><filter>'
                   '<condition attribute="ownerid" operator="eq-userid"/>'
                   '<condition attribute="statecode" operator="eq" value="0"/></filter>'
                   '<order attribute="estimatedclosedate"/></entity></fetch>')
    mine = [o for o in RAW["opportunity"] if o["ownerid"].id == ALICE and o["statecode"] == 0]
    mine.sort(key=lambda o: (o["estimatedclosedate"] is not None, o["estimatedclosedate"] or date.min))
    assert [row["name"] for row in result.rows] == [o["name"] for o in mine]
    assert [row["name"] for row in result.rows] == ["Nancy side deal", "Contoso upgrade", "Contoso renewal",
                                                   "Adventure deal"]
    first = result.rows[1]
    assert first == {"name": "Contoso upgrade", "estimatedvalue": 50_000.0, "estimatedclosedate": date(2024, 3, 31),
                     "customerid": LookupValue("account", ACC[0]), "opportunityid": OPP[0]}
    assert "estimatedclosedate" not in result.rows[0]  # null columns are omitted, as Dataverse does
    assert result.columns["customerid"].type == "Customer" and result.table.logical_name == "opportunity"
    assert result.aggregate is False and result.more_records is False


def test_report_pipeline_by_stage() -> None:
    result = fetch('<fetch aggregate="true"><entity name="opportunity">'
                   '<attribute name="stepname" alias="stage" groupby="true"/>'
                   '<attribute name="estimatedvalue" alias="total" aggregate="sum"/>'
                   '<attribute name="opportunityid" alias="n" aggregate="count"/>'
                   '<filter><condition attribute="statecode" operator="eq" value="0"/></filter>'
                   '<order alias="stage"/></entity></fetch>')
    expected: dict[object, list[float]] = {}
    for o in RAW["opportunity"]:
        if o["statecode"] == 0:
            expected.setdefault(o["stepname"], []).append(o["estimatedvalue"])
    stages = sorted(expected, key=lambda s: (s is not None, s or ""))
    assert result.aggregate is True
    assert [row.get("stage") for row in result.rows] == stages
    for row in result.rows:
        values = expected[row.get("stage")]
        assert row["n"] == len(values)
        assert row["total"] == pytest.approx(sum(v for v in values if v is not None))
        assert isinstance(row["total"], float)
    assert result.rows[2] == {"stage": "Propose", "total": 62_500.25, "n": 2}


def test_report_accounts_with_no_activity_in_30_days() -> None:
    result = fetch('<fetch><entity name="account"><attribute name="name"/><order attribute="name"/>'
                   '<link-entity name="activitypointer" from="regardingobjectid" to="accountid" link-type="not any">'
                   '<filter><condition attribute="createdon" operator="last-x-days" value="30"/></filter>'
                   '</link-entity></entity></fetch>')
    # 30 days back from Alice's local today (2024-03-31) starts 2024-03-01 00:00 EST = 05:00Z
    recent = {a["regardingobjectid"].id for a in RAW["activitypointer"]
              if a["createdon"].isoformat() >= "2024-03-01T05:00:00+00:00"}
    expected = sorted((a["name"] for a in RAW["account"] if a["accountid"] not in recent), key=str.casefold)
    assert [row["name"] for row in result.rows] == expected == ["contoso east", "Fabrikam, Inc.", "Litware",
                                                                "O'Brien & Sons"]


def test_report_closing_this_month_uses_the_date_itself() -> None:
    result = fetch('<fetch><entity name="opportunity"><attribute name="name"/><filter>'
                   '<condition attribute="estimatedclosedate" operator="this-month"/></filter>'
                   '<order attribute="name"/></entity></fetch>')
    expected = sorted(o["name"] for o in RAW["opportunity"]
                      if o["estimatedclosedate"] and o["estimatedclosedate"].strftime("%Y-%m") == "2024-03")
    assert [row["name"] for row in result.rows] == expected


# ---- operators ----

@pytest.mark.parametrize(("condition", "expected"), [
    ('<condition attribute="name" operator="eq" value="CONTOSO LTD"/>', ["Contoso Ltd"]),
    ('<condition attribute="revenue" operator="ne" value="75000"/>',
     ["contoso east", "Contoso Ltd", "Fabrikam, Inc.", "Litware"]),
    ('<condition attribute="revenue" operator="gt" value="75000"/>', ["Contoso Ltd", "Fabrikam, Inc."]),
    ('<condition attribute="revenue" operator="ge" value="75000"/>', ["Adventure Works", "Contoso Ltd",
                                                                       "Fabrikam, Inc."]),
    ('<condition attribute="revenue" operator="lt" value="20000"/>', ["Litware"]),
    ('<condition attribute="revenue" operator="le" value="20000"/>', ["contoso east", "Litware"]),
    ('<condition attribute="name" operator="like" value="%contoso%"/>', ["contoso east", "Contoso Ltd"]),
    ('<condition attribute="name" operator="like" value="_itware"/>', ["Litware"]),
    ('<condition attribute="name" operator="not-like" value="%o%"/>', ["Fabrikam, Inc.", "Litware"]),
    ('<condition attribute="name" operator="begins-with" value="contoso"/>', ["contoso east", "Contoso Ltd"]),
    ('<condition attribute="name" operator="ends-with" value="works"/>', ["Adventure Works"]),
    ('<condition attribute="name" operator="in"><value>Litware</value><value>adventure works</value></condition>',
     ["Adventure Works", "Litware"]),
    ('<condition attribute="statecode" operator="not-in"><value>0</value></condition>', ["O'Brien & Sons"]),
    ('<condition attribute="accountnumber" operator="null"/>', ["O'Brien & Sons"]),
    ('<condition attribute="numberofemployees" operator="not-null"/>',
     ["contoso east", "Contoso Ltd", "Fabrikam, Inc.", "Litware", "O'Brien & Sons"]),
    ('<condition attribute="numberofemployees" operator="between"><value>8</value><value>120</value></condition>',
     ["Fabrikam, Inc.", "Litware", "O'Brien & Sons"]),
    ('<condition attribute="ownerid" operator="eq-userid"/>',
     ["Adventure Works", "contoso east", "Contoso Ltd", "O'Brien & Sons"]),
    ('<condition attribute="ownerid" operator="ne-userid"/>', ["Fabrikam, Inc.", "Litware"]),
    ('<condition attribute="donotemail" operator="eq" value="1"/>', ["Fabrikam, Inc."]),
    ('<condition attribute="primarycontactid" operator="eq" value="{C0000000-0000-4000-8000-000000000002}"/>',
     ["Fabrikam, Inc."]),
])
def test_condition_operators(condition: str, expected: list[str]) -> None:
    assert account_names(condition) == expected


@pytest.mark.parametrize(("condition", "expected"), [
    ('<condition attribute="createdon" operator="today"/>', ["contoso east"]),
    ('<condition attribute="createdon" operator="yesterday"/>', ["Contoso Ltd"]),
    ('<condition attribute="createdon" operator="this-month"/>', ["contoso east", "Contoso Ltd"]),
    ('<condition attribute="createdon" operator="last-month"/>', ["Fabrikam, Inc.", "O'Brien & Sons"]),
    ('<condition attribute="createdon" operator="next-month"/>', []),
    ('<condition attribute="createdon" operator="last-x-days" value="30"/>', ["contoso east", "Contoso Ltd"]),
    ('<condition attribute="createdon" operator="older-x-days" value="60"/>', ["Adventure Works", "Litware"]),
    ('<condition attribute="createdon" operator="on" value="2024-03-30"/>', ["Contoso Ltd"]),
    ('<condition attribute="createdon" operator="on-or-after" value="2024-03-01"/>', ["contoso east", "Contoso Ltd"]),
    ('<condition attribute="createdon" operator="on-or-before" value="2024-01-15"/>', ["Adventure Works", "Litware"]),
    ('<condition attribute="createdon" operator="ge" value="2024-03-01"/>', ["contoso east", "Contoso Ltd"]),
])
def test_relative_date_operators_in_the_callers_time_zone(condition: str, expected: list[str]) -> None:
    assert account_names(condition) == expected


def test_nested_filters_and_or() -> None:
    assert account_names('<condition attribute="statecode" operator="eq" value="0"/><filter type="or">'
                         '<condition attribute="numberofemployees" operator="eq" value="500"/>'
                         '<condition attribute="revenue" operator="lt" value="10000"/></filter>') == [
        "contoso east", "Contoso Ltd", "Litware"]


# ---- link-entity ----

def test_inner_and_outer_links_name_columns_by_alias() -> None:
    xml = ('<fetch><entity name="account"><attribute name="name"/><order attribute="name"/>'
           '<link-entity name="contact" from="contactid" to="primarycontactid" link-type="{}" alias="pc">'
           '<attribute name="fullname"/><attribute name="jobtitle" alias="title"/></link-entity></entity></fetch>')
    inner = fetch(xml.format("inner"))
    assert [(r["name"], r["pc.fullname"], r.get("title")) for r in inner.rows] == [
        ("Adventure Works", "Maria Maria", "Buyer"), ("Contoso Ltd", "Susanna Stubberod", "Buyer"),
        ("Fabrikam, Inc.", "Nancy Anderson", "CEO"), ("Litware", "Paul Cannon", None)]
    assert inner.columns["pc.fullname"].logical_name == "fullname" and inner.columns["title"].logical_name == "jobtitle"
    outer = fetch(xml.format("outer"))
    assert [r["name"] for r in outer.rows] == sorted((a["name"] for a in RAW["account"]), key=str.casefold)
    assert "pc.fullname" not in outer.rows[1]  # contoso east has no primary contact


def test_default_alias_and_one_to_many_inner_join_multiplies_rows() -> None:
    result = fetch('<fetch><entity name="account"><attribute name="name"/><order attribute="name"/>'
                   '<link-entity name="task" from="regardingobjectid" to="accountid"><attribute name="subject"/>'
                   '<order attribute="subject"/></link-entity></entity></fetch>')
    assert [(r["name"], r["task1.subject"]) for r in result.rows] == [
        ("Contoso Ltd", "Call Contoso"), ("Contoso Ltd", "Send Contoso quote"),
        ("Fabrikam, Inc.", "Fabrikam follow-up"), ("Litware", "Litware check-in")]


@pytest.mark.parametrize(("link_type", "expected"), [
    ("any", ["Fabrikam, Inc.", "Litware"]),
    ("exists", ["Fabrikam, Inc.", "Litware"]),
    ("in", ["Fabrikam, Inc.", "Litware"]),
    ("not any", ["Adventure Works", "contoso east", "Contoso Ltd", "O'Brien & Sons"]),
    ("all", ["Adventure Works", "contoso east", "Fabrikam, Inc.", "Litware", "O'Brien & Sons"]),
    ("not all", ["Contoso Ltd"]),
])
def test_filtering_link_types(link_type: str, expected: list[str]) -> None:
    # tasks: Contoso has one completed (statecode 1) and one open; Fabrikam and Litware one completed each
    result = fetch(f'<fetch><entity name="account"><attribute name="name"/><order attribute="name"/>'
                   f'<link-entity name="task" from="regardingobjectid" to="accountid" link-type="{link_type}">'
                   f'<filter><condition attribute="statecode" operator="eq" value="1"/>'
                   f'<condition attribute="subject" operator="not-like" value="%Contoso%"/></filter>'
                   f'</link-entity></entity></fetch>')
    assert [r["name"] for r in result.rows] == expected


def test_nested_link_entities_and_entityname_conditions() -> None:
    result = fetch('<fetch><entity name="opportunity"><attribute name="name"/><order attribute="name"/>'
                   '<link-entity name="account" from="accountid" to="parentaccountid" alias="acct">'
                   '<link-entity name="contact" from="contactid" to="primarycontactid" link-type="outer" alias="pc">'
                   '<attribute name="fullname"/></link-entity></link-entity>'
                   '<filter><condition entityname="pc" attribute="jobtitle" operator="eq" value="Buyer"/></filter>'
                   '</entity></fetch>')
    assert [(r["name"], r["pc.fullname"]) for r in result.rows] == [
        ("Adventure deal", "Maria Maria"), ("Contoso renewal", "Susanna Stubberod"),
        ("Contoso upgrade", "Susanna Stubberod"), ("Won deal", "Susanna Stubberod")]


# ---- paging ----

def xml_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace(chr(34), "&quot;").replace("<", "&lt;")


def _walk(page_size: int, *, use_cookie: bool) -> list[list[str]]:
    pages, page, cookie = [], 1, None
    while True:
        cookie_attr = f' paging-cookie="{xml_attribute(cookie)}"' if cookie and use_cookie else ""
        result = fetch(f'<fetch count="{page_size}" page="{page}"{cookie_attr}><entity name="account">'
                       f'<attribute name="name"/><order attribute="name" descending="true"/></entity></fetch>')
        pages.append([row["accountid"] for row in result.rows])
        if not result.more_records:
            return pages
        cookie, page = result.paging_cookie, page + 1
        assert page < 20


@pytest.mark.parametrize("use_cookie", [True, False])
@pytest.mark.parametrize("size", [1, 2, 4, 5, 6])
def test_paging_walk_has_no_duplicates_and_no_gaps(size: int, use_cookie: bool) -> None:
    pages = _walk(size, use_cookie=use_cookie)
    walked = [row_id for page in pages for row_id in page]
    expected = [a["accountid"] for a in sorted(RAW["account"], key=lambda a: a["name"].casefold(), reverse=True)]
    assert walked == expected
    assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size


def test_paging_cookie_shape() -> None:
    result = fetch('<fetch count="2" page="1"><entity name="account"><attribute name="name"/>'
                   '<order attribute="name"/></entity></fetch>')
    assert result.more_records is True
    assert result.paging_cookie == (f'<cookie page="1"><name last="contoso east" first="Adventure Works" />'
                                    f'<accountid last="{{{ACC[5].upper()}}}" first="{{{ACC[3].upper()}}}" /></cookie>')


def test_top_limits_rows_and_cannot_combine_with_paging() -> None:
    result = fetch('<fetch top="2"><entity name="account"><attribute name="name"/><order attribute="name"/>'
                   '</entity></fetch>')
    assert [r["name"] for r in result.rows] == ["Adventure Works", "contoso east"] and not result.more_records
    assert "top" in error('<fetch top="2" count="2"><entity name="account"/></fetch>').message


# ---- aggregates ----

def test_aggregate_functions_ignore_nulls_except_count() -> None:
    result = fetch('<fetch aggregate="true"><entity name="account">'
                   '<attribute name="numberofemployees" alias="avg" aggregate="avg"/>'
                   '<attribute name="numberofemployees" alias="count" aggregate="count"/>'
                   '<attribute name="numberofemployees" alias="cc" aggregate="countcolumn"/>'
                   '<attribute name="numberofemployees" alias="dcc" aggregate="countcolumn" distinct="true"/>'
                   '<attribute name="numberofemployees" alias="max" aggregate="max"/>'
                   '<attribute name="numberofemployees" alias="min" aggregate="min"/>'
                   '<attribute name="numberofemployees" alias="sum" aggregate="sum"/>'
                   '<attribute name="revenue" alias="avgrev" aggregate="avg"/></entity></fetch>')
    employees = [a.get("numberofemployees") for a in RAW["account"]]
    present = [n for n in employees if n is not None]
    revenue = [a["revenue"] for a in RAW["account"] if a.get("revenue") is not None]
    assert result.rows == [{"avg": sum(present) // len(present), "count": len(employees), "cc": len(present),
                            "dcc": len(set(present)), "max": max(present), "min": min(present), "sum": sum(present),
                            "avgrev": pytest.approx(sum(revenue) / len(revenue))}]
    assert isinstance(result.rows[0]["avgrev"], float)


def test_group_by_month_in_the_callers_time_zone() -> None:
    result = fetch('<fetch aggregate="true"><entity name="account">'
                   '<attribute name="createdon" alias="month" groupby="true" dategrouping="month"/>'
                   '<attribute name="accountid" alias="n" aggregate="count"/><order alias="month"/></entity></fetch>')
    # local (New York) creation months: Mar 30, Feb 29, Feb 29, Jan 15, Dec 31, Mar 31
    assert result.rows == [{"month": 1, "n": 1}, {"month": 2, "n": 2}, {"month": 3, "n": 2}, {"month": 12, "n": 1}]


@pytest.mark.parametrize(("xml", "fragment"), [
    ('<fetch aggregate="true"><entity name="account"><attribute name="revenue" aggregate="sum"/></entity></fetch>',
     "alias"),
    ('<fetch aggregate="true"><entity name="account"><attribute name="name" alias="s" aggregate="sum"/></entity>'
     '</fetch>', "sum"),
    ('<fetch aggregate="true"><entity name="account"><attribute name="name" alias="n" aggregate="count"/>'
     '<order alias="zzz"/></entity></fetch>', "zzz"),
])
def test_aggregate_errors(xml: str, fragment: str) -> None:
    assert fragment in error(xml).message


def test_aggregate_record_limit() -> None:
    err = error('<fetch aggregate="true" aggregatelimit="5"><entity name="account">'
                '<attribute name="accountid" alias="n" aggregate="count"/></entity></fetch>')
    assert err.code == "0x8004E023"
    many = FakeDataset({**build_rows(), "account": [{"accountid": f"{i:032x}"} for i in range(50_001)]})
    with pytest.raises(SandboxError) as caught:
        run_fetch('<fetch aggregate="true"><entity name="account"><attribute name="accountid" alias="n" '
                  'aggregate="count"/></entity></fetch>', many, CTX)
    assert caught.value.code == "0x8004E023"


# ---- errors and hostile input ----

@pytest.mark.parametrize(("xml", "code"), [
    ("<fetch><entity name='nope'/></fetch>", "0x80040217"),
    ("<fetch><entity name='account'><attribute name='nope'/></entity></fetch>", "0x80041103"),
    ("<fetch><entity name='account'><attribute name='_ownerid_value'/></entity></fetch>", "0x80041103"),
    ("<fetch><entity name='account'>", "0x80040201"),
    ("not xml at all", "0x80040201"),
    ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><fetch>&lol2;</fetch>', "0x80040201"),
    ('<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><fetch/>', "0x80040201"),
    ("<fetch><entity name='account'><filter><condition attribute='name' operator='sounds-like' value='x'/>"
     "</filter></entity></fetch>", "0x80040203"),
    ("<fetch><entity name='account'><filter><condition attribute='numberofemployees' operator='eq' value='many'/>"
     "</filter></entity></fetch>", "0x80040203"),
    ("<fetch count='0'><entity name='account'/></fetch>", "0x80040203"),
    ("<fetch><entity name='account'>" + "<link-entity name='contact' from='contactid' to='primarycontactid'/>" * 16
     + "</entity></fetch>", "0x8004430D"),
    ("<fetch>" + "x" * 70_000 + "</fetch>", "0x80040201"),
])
def test_errors_are_dataverse_shaped(xml: str, code: str) -> None:
    assert error(xml).code == code


VALID = ('<fetch count="2"><entity name="account"><attribute name="name"/><order attribute="name"/>'
         '<filter type="or"><condition attribute="createdon" operator="last-x-days" value="30"/></filter>'
         '<link-entity name="contact" from="contactid" to="primarycontactid" link-type="outer" alias="c">'
         '<attribute name="fullname"/></link-entity></entity></fetch>')


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_fetchxml_never_crashes_with_anything_but_a_sandbox_error(data: st.DataObject) -> None:
    xml = VALID
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(xml)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        snippet = data.draw(st.sampled_from(['"', "'", "<", ">", "/", "=", " ", "x", "&", "&amp;", "-1", "99999999",
                                              "aggregate='true'", "<value>1</value>", "true", "top='3' ",
                                              "link-type='all'", "operator='between'", "{", "\u00e9"]))
        if action == "delete":
            xml = xml[:position] + xml[position + 3:]
        elif action == "insert":
            xml = xml[:position] + snippet + xml[position:]
        else:
            xml = xml[:position] + snippet + xml[position + len(snippet):]
    try:
        fetch(xml)
    except SandboxError as err:
        assert err.status == 400


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(text: str) -> None:
    with contextlib.suppress(SandboxError):
        fetch(text)
