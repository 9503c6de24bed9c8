"""`$apply` aggregation over HTTP: groupby with $count, aggregate sums, a filter step, and row security."""

from __future__ import annotations

from collections import Counter

from sandbox_dataverse_support import API

from dataverse.sandbox.users import ALICE


async def test_groupby_with_count(carol, org):
    body = (await carol.get(f"{API}/opportunities?$apply=groupby((statuscode),aggregate($count as count))")).json()
    expected = Counter(row["statuscode"] for row in org.rows["opportunity"].values())
    assert {row["statuscode"]: row["count"] for row in body["value"]} == dict(expected)
    assert body["@odata.context"].endswith("#opportunities(statuscode,count)")


async def test_aggregate_sum_over_the_callers_rows(alice, org):
    body = (await alice.get(f"{API}/opportunities?$apply=aggregate(estimatedvalue with sum as total)")).json()
    mine = [r["estimatedvalue"] for r in org.rows["opportunity"].values() if r["ownerid"].id == ALICE.systemuser_id]
    assert len(body["value"]) == 1 and abs(body["value"][0]["total"] - sum(mine)) < 0.01


async def test_filter_then_groupby_with_several_aggregates(carol, org):
    body = (await carol.get(f"{API}/opportunities?$apply=filter(statecode eq 0)/groupby((salesstage),"
                            "aggregate(estimatedvalue with max as biggest,$count as n))")).json()
    open_rows = [r for r in org.rows["opportunity"].values() if r["statecode"] == 0]
    for row in body["value"]:
        stage = [r for r in open_rows if r["salesstage"] == row["salesstage"]]
        assert row["n"] == len(stage) and row["biggest"] == max(r["estimatedvalue"] for r in stage)
    assert [row["salesstage"] for row in body["value"]] == sorted(row["salesstage"] for row in body["value"])


async def test_bad_apply_is_400(carol):
    for apply in ("groupby(statuscode)", "aggregate(bogus with sum as x)", "aggregate(revenue with median as m)"):
        response = await carol.get(f"{API}/accounts?$apply={apply}")
        assert response.status_code == 400, apply
