"""How a table's DateTime columns store values, read in one request from the DateTimeAttributeMetadata cast."""

from __future__ import annotations

import httpx
import pytest

from dataverse.webapi import DateTimeBehavior, NotFoundError

API_PATH = "/api/data/v9.2/"
CONTEXT = "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata"
CAST_PATH = (
    f"{API_PATH}EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata"
)


def datetime_attribute(name: str, behavior: str | None, format: str = "DateAndTime") -> dict:
    return {
        "LogicalName": name,
        "Format": format,
        "DateTimeBehavior": {"Value": behavior} if behavior is not None else None,
        "MetadataId": "00000000-0000-0000-0000-000000000001",
    }


ANSWER = {
    "@odata.context": f"{CONTEXT}#EntityDefinitions('opportunity')/Attributes/Microsoft.Dynamics.CRM."
                      f"DateTimeAttributeMetadata(LogicalName,Format,DateTimeBehavior)",
    "value": [
        datetime_attribute("createdon", "UserLocal"),
        datetime_attribute("estimatedclosedate", "DateOnly", format="DateOnly"),
        datetime_attribute("actualclosedate", None, format="DateOnly"),  # older metadata: only Format says it
        datetime_attribute("new_shiftstart", "TimeZoneIndependent"),
        {"Format": "DateOnly"},  # no logical name: nothing to key it by
    ],
}


async def test_behaviors_are_read_from_the_datetime_cast_in_one_request(harness):
    h = harness(httpx.Response(200, json=ANSWER))
    behaviors = await h.client.get_datetime_behaviors("opportunity")
    assert len(h.requests) == 1 and h.last.method == "GET" and h.path() == CAST_PATH
    assert dict(h.params()) == {"$select": "LogicalName,Format,DateTimeBehavior"}
    assert behaviors == {
        "createdon": DateTimeBehavior(date_only=False, time_zone_independent=False),
        "estimatedclosedate": DateTimeBehavior(date_only=True, time_zone_independent=False),
        "actualclosedate": DateTimeBehavior(date_only=True, time_zone_independent=False),
        "new_shiftstart": DateTimeBehavior(date_only=False, time_zone_independent=True),
    }


async def test_a_table_without_datetime_columns_has_no_behaviors(harness):
    h = harness(httpx.Response(200, json={"value": []}))
    assert await h.client.get_datetime_behaviors("opportunity") == {}


async def test_an_unknown_table_is_not_found(harness):
    h = harness(httpx.Response(404, json={"error": {"code": "0x80040217", "message": "Could not find entity"}}))
    with pytest.raises(NotFoundError):
        await h.client.get_datetime_behaviors("nosuchtable")


async def test_the_read_is_retried_after_a_gateway_error(harness):
    unavailable = httpx.Response(503, json={"error": {"message": "Service Unavailable"}})
    h = harness(unavailable, httpx.Response(200, json=ANSWER))
    assert "createdon" in await h.client.get_datetime_behaviors("opportunity")
    assert len(h.requests) == 2


@pytest.mark.parametrize("name", ["Opportunity", "account')/x", "", "a b"])
async def test_a_name_that_is_not_a_logical_name_is_refused_before_sending(harness, name):
    h = harness(httpx.Response(200, json=ANSWER))
    with pytest.raises(ValueError, match="not a valid table logical name"):
        await h.client.get_datetime_behaviors(name)
    assert h.requests == []
