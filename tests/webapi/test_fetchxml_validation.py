"""FetchXML: untrusted XML is parsed safely and checked for shape; paging attributes are set correctly."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest

from dataverse.webapi.fetchxml import (
    InvalidFetchXmlError,
    entity_name,
    parse_paging_cookie_annotation,
    validate_fetch_xml,
    with_paging,
)

MY_OPEN_OPPORTUNITIES = (
    '<fetch><entity name="opportunity"><attribute name="name"/><attribute name="estimatedvalue"/>'
    '<filter><condition attribute="ownerid" operator="eq-userid"/><condition attribute="statecode" operator="eq" '
    'value="0"/></filter><order attribute="estimatedclosedate"/></entity></fetch>'
)


def test_a_valid_query_names_its_table():
    assert validate_fetch_xml(MY_OPEN_OPPORTUNITIES).tag == "fetch"
    assert entity_name(MY_OPEN_OPPORTUNITIES) == "opportunity"


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        ("", "empty"),
        ("<fetch><entity name='account'>", "not well-formed"),
        ("<query><entity name='account'/></query>", "root element"),
        ("<fetch/>", "exactly one <entity>"),
        ("<fetch><entity name='account'/><entity name='contact'/></fetch>", "exactly one <entity>"),
        ("<fetch><entity/></fetch>", "logical name"),
        ("<fetch><entity name='Account; drop'/></fetch>", "logical name"),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            "<fetch><entity name='account'><attribute name='&lol2;'/></entity></fetch>",
            "DTD",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE fetch [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            "<fetch><entity name='account'><attribute name='&xxe;'/></entity></fetch>",
            "DTD",
        ),
    ],
)
def test_invalid_queries_say_what_to_fix(xml, problem):
    with pytest.raises(InvalidFetchXmlError, match=problem):
        validate_fetch_xml(xml)


def test_size_limit():
    with pytest.raises(InvalidFetchXmlError, match="over the 100-byte limit"):
        validate_fetch_xml(MY_OPEN_OPPORTUNITIES, max_bytes=100)


def test_invalid_fetchxml_is_a_value_error():
    assert issubclass(InvalidFetchXmlError, ValueError)


def test_with_paging_sets_page_count_and_an_escaped_cookie_that_round_trips():
    cookie = '<cookie page="1"><opportunityid last="{E062B974-7F8D-DC11-9048-0003FF27AC3B}" /></cookie>'
    paged = with_paging(MY_OPEN_OPPORTUNITIES, page=2, count=50, paging_cookie=cookie)
    root = fromstring(paged)
    assert (root.get("page"), root.get("count"), root.get("paging-cookie")) == ("2", "50", cookie)
    assert entity_name(paged) == "opportunity"
    assert len(root.find("entity/filter")) == 2


def test_with_paging_replaces_earlier_paging_and_drops_a_stale_cookie():
    first = with_paging(MY_OPEN_OPPORTUNITIES, page=2, count=10, paging_cookie="<cookie page='1'/>")
    again = fromstring(with_paging(first, page=1, count=10))
    assert again.get("page") == "1" and again.get("paging-cookie") is None


def test_top_cannot_be_combined_with_paging():
    with pytest.raises(InvalidFetchXmlError, match="top="):
        with_paging('<fetch top="5"><entity name="account"/></fetch>', page=1, count=5)


@pytest.mark.parametrize(("page", "count"), [(0, 5), (1, 0), (1, 5001), ("2", 5)])
def test_paging_numbers_must_be_in_range(page, count):
    with pytest.raises(InvalidFetchXmlError):
        with_paging(MY_OPEN_OPPORTUNITIES, page=page, count=count)


def test_paging_cookie_annotation_is_decoded_twice():
    annotation = (
        '<cookie pagenumber="3" pagingcookie="%253ccookie%2520page%253d%25222%2522%253e%253copportunityid%2520last'
        '%253d%2522%257bAB%257d%2522%2520%252f%253e%253c%252fcookie%253e" istracking="False" />'
    )
    assert parse_paging_cookie_annotation(annotation) == (3, '<cookie page="2"><opportunityid last="{AB}" /></cookie>')


@pytest.mark.parametrize("annotation", [None, "", "not xml", '<!DOCTYPE x [<!ENTITY a "b">]><cookie/>'])
def test_an_unreadable_annotation_gives_no_cookie(annotation):
    assert parse_paging_cookie_annotation(annotation) == (None, None)


def test_fetchxml_nested_beyond_the_limit_is_refused_before_anything_recurses():
    deep = "<fetch><entity name='account'>" + "<filter>" * 1500 + "</filter>" * 1500 + "</entity></fetch>"
    with pytest.raises(InvalidFetchXmlError, match="nests 1502 elements deep"):
        validate_fetch_xml(deep)
    shallow = "<fetch><entity name='account'>" + "<filter>" * 10 + "</filter>" * 10 + "</entity></fetch>"
    assert validate_fetch_xml(shallow).tag == "fetch"
