"""The sample organisation: deterministic from its seed, dated relative to today, with the data the reports need,
and a schema whose relationships carry Dataverse's navigation property names and cascade behaviour."""

from __future__ import annotations

from datetime import date, timedelta

from sandbox_dataverse_support import TODAY

from dataverse.sandbox.dataverse.model import LookupValue
from dataverse.sandbox.dataverse.organization import SandboxOrganization, create_sandbox_organization
from dataverse.sandbox.dataverse.schema import ACTIVITY_TABLES, build_schema
from dataverse.sandbox.users import ALICE, BOB, CAROL, SANDBOX_TEAM_ID, SANDBOX_USERS


def _snapshot(org: SandboxOrganization) -> dict:
    return {name: sorted(map(repr, rows.values())) for name, rows in org.rows.items()}


def test_same_seed_and_day_give_identical_data():
    assert _snapshot(create_sandbox_organization(seed=7, today=TODAY)) == _snapshot(
        create_sandbox_organization(seed=7, today=TODAY))


def test_another_seed_gives_different_data():
    assert _snapshot(create_sandbox_organization(seed=7, today=TODAY)) != _snapshot(
        create_sandbox_organization(seed=8, today=TODAY))


def test_volumes_meet_the_sample_organisation_floor(org: SandboxOrganization):
    counts = {name: len(rows) for name, rows in org.rows.items()}
    assert counts["account"] >= 50 and counts["contact"] >= 150
    assert counts["opportunity"] >= 120 and counts["lead"] >= 40
    assert len(org.all_rows("activitypointer")) == sum(counts[name] for name in ACTIVITY_TABLES)


def test_users_map_entra_object_ids_to_systemusers_with_time_zones(org: SandboxOrganization):
    for user in SANDBOX_USERS:
        row = org.systemuser_for_object_id(user.object_id)
        assert row["systemuserid"] == user.systemuser_id
        assert row["internalemailaddress"] == user.upn
        assert row["fullname"] == user.full_name
        assert org.rows["usersettings"][user.systemuser_id]["timezonecode"] == user.timezone_code
        assert str(org.timezone_of(user.systemuser_id)) == user.iana_timezone
    assert org.team_members[SANDBOX_TEAM_ID] == {ALICE.systemuser_id, BOB.systemuser_id}


def _open_closing_this_month(org: SandboxOrganization, user_id: str, today: date) -> int:
    return sum(
        1 for row in org.rows["opportunity"].values()
        if row["ownerid"].id == user_id and row["statecode"] == 0
        and (row["estimatedclosedate"].year, row["estimatedclosedate"].month) == (today.year, today.month)
    )


def test_each_rep_has_several_open_opportunities_closing_this_month_whatever_the_day():
    for today in (TODAY, date(2027, 2, 1), date(2026, 12, 31)):
        org = create_sandbox_organization(today=today)
        for user in (ALICE, BOB):
            assert _open_closing_this_month(org, user.systemuser_id, today) >= 3


def test_opportunities_span_every_stage_state_and_owner(org: SandboxOrganization):
    rows = list(org.rows["opportunity"].values())
    assert {row["salesstage"] for row in rows} == {0, 1, 2, 3}
    assert {row["statecode"] for row in rows} == {0, 1, 2}
    assert {row["ownerid"].id for row in rows} == {ALICE.systemuser_id, BOB.systemuser_id, CAROL.systemuser_id}
    for row in rows:
        status = org.tables["opportunity"].columns["statuscode"]
        assert next(o.state for o in status.options if o.value == row["statuscode"]) == row["statecode"]
        assert isinstance(row["estimatedclosedate"], date)


def test_contoso_accounts_exist_with_contacts(org: SandboxOrganization):
    contoso = [row for row in org.rows["account"].values() if row["name"].startswith("Contoso")]
    assert len(contoso) >= 2
    for account in contoso:
        contacts = [c for c in org.rows["contact"].values()
                    if c["parentcustomerid"] == LookupValue("account", account["accountid"])]
        assert contacts and account["primarycontactid"].id in {c["contactid"] for c in contacts}


def test_activities_are_recent_except_for_some_quiet_accounts(org: SandboxOrganization):
    now = org.now()
    last_activity: dict[str, object] = {}
    for activity in org.all_rows("activitypointer"):
        assert now - timedelta(days=90) <= activity["createdon"] <= now
        if activity["regardingobjectid"].table != "account":
            continue
        account_id = activity["regardingobjectid"].id
        last_activity[account_id] = max(last_activity.get(account_id, activity["createdon"]), activity["createdon"])
    quiet = [a for a, last in last_activity.items() if last < now - timedelta(days=30)]
    busy = [a for a, last in last_activity.items() if last >= now - timedelta(days=30)]
    assert len(quiet) >= 5 and len(busy) >= 20


def test_some_of_carols_accounts_are_shared_with_the_team(org: SandboxOrganization):
    shared = [key for key, principals in org.shares.items() if SANDBOX_TEAM_ID in principals and key[0] == "account"]
    assert shared
    assert all(org.rows["account"][row_id]["ownerid"].id == CAROL.systemuser_id for _, row_id in shared)


def test_today_anchors_the_clock_at_noon_utc():
    org = create_sandbox_organization(today=date(2025, 3, 31))
    assert org.now().isoformat() == "2025-03-31T12:00:00+00:00"
    closed = [row for row in org.rows["opportunity"].values() if row["statecode"] != 0]
    assert closed and all(row["actualclosedate"] < date(2025, 3, 31) for row in closed)
    assert all(row["createdon"] < org.now() for name in ("account", "contact", "opportunity", "lead", "task")
               for row in org.rows[name].values())


def test_polymorphic_lookups_have_one_typed_navigation_property_per_target():
    tables = build_schema()
    navigation = {(rel.referencing_attribute, rel.referenced_entity): rel.navigation_property
                  for rel in tables["opportunity"].many_to_one}
    assert navigation[("customerid", "account")] == "customerid_account"
    assert navigation[("customerid", "contact")] == "customerid_contact"
    contact = {(r.referencing_attribute, r.referenced_entity): r.navigation_property
               for r in tables["contact"].many_to_one}
    assert contact[("parentcustomerid", "account")] == "parentcustomerid_account"
    appointment = {r.navigation_property for r in tables["appointment"].many_to_one}
    assert "regardingobjectid_account_appointment" in appointment
    assert {"ownerid", "createdby"} <= {r.navigation_property for r in tables["account"].many_to_one}


def test_cascade_behaviour_on_one_to_many_relationships():
    account = {rel.navigation_property: rel for rel in build_schema()["account"].one_to_many}
    assert account["contact_customer_accounts"].cascade_delete == "Cascade"
    assert account["Account_Tasks"].cascade_delete == "Cascade"
    assert account["opportunity_parent_account"].cascade_delete == "RemoveLink"
    assert build_schema()["contact"].one_to_many[0].cascade_delete in ("RemoveLink", "Cascade")


def test_read_only_and_date_only_columns():
    tables = build_schema()
    for table in ("account", "contact", "opportunity"):
        for name in ("createdon", "modifiedon", "versionnumber"):
            column = tables[table].columns[name]
            assert not column.valid_for_create and not column.valid_for_update
    assert not tables["contact"].columns["fullname"].valid_for_create
    assert tables["opportunity"].columns["estimatedclosedate"].date_only
    assert tables["account"].columns["name"].required == "ApplicationRequired"
