"""Table metadata from documented Web API response shapes: tables, columns, choices, lookups, relationships."""

from __future__ import annotations

import asyncio

import httpx
import pytest

API_PATH = "/api/data/v9.2/"
CONTEXT = "https://contoso.crm.dynamics.com/api/data/v9.2/$metadata"


def label(text: str | None) -> dict:
    if text is None:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {
        "Label": text,
        "LanguageCode": 1033,
        "IsManaged": True,
        "MetadataId": "e8f7a1b2-0000-0000-0000-000000000000",
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def option(value: int, text: str, **extra: int) -> dict:
    return {"Value": value, "Color": None, "IsManaged": True, "Label": label(text), "Description": label(None), **extra}


def attribute(
    name: str,
    kind: str,
    display: str | None,
    required: str = "None",
    create: bool = True,
    update: bool = True,
    attribute_of: str | None = None,
    type_name: str | None = None,
) -> dict:
    return {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
        "LogicalName": name,
        "AttributeType": kind,
        "AttributeTypeName": {"Value": type_name or f"{kind}Type"},
        "DisplayName": label(display),
        "RequiredLevel": {
            "Value": required,
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "IsValidForCreate": create,
        "IsValidForUpdate": update,
        "AttributeOf": attribute_of,
        "MetadataId": "00000000-0000-0000-0000-000000000001",
    }


ENTITY = {
    "@odata.context": f"{CONTEXT}#EntityDefinitions(LogicalName,EntitySetName,DisplayName)/$entity",
    "LogicalName": "opportunity",
    "EntitySetName": "opportunities",
    "DisplayName": label("Opportunity"),
    "PrimaryIdAttribute": "opportunityid",
    "PrimaryNameAttribute": "name",
    "Description": label("Potential revenue-generating event."),
    "MetadataId": "3a3e1c1e-0000-0000-0000-000000000000",
}
ATTRIBUTES = {
    "value": [
        attribute("opportunityid", "Uniqueidentifier", "Opportunity", "SystemRequired", update=False),
        attribute("name", "String", "Topic", "ApplicationRequired"),
        attribute("estimatedvalue", "Money", "Est. Revenue"),
        attribute("customerid", "Customer", "Potential Customer", "ApplicationRequired"),
        attribute("customeridname", "String", None, create=False, update=False, attribute_of="customerid"),
        attribute("statecode", "State", "Status", "SystemRequired", create=False),
        attribute("statuscode", "Status", "Status Reason"),
        attribute("isrevenuesystemcalculated", "Boolean", "Revenue"),
        attribute("salesstage", "Picklist", "Sales Stage"),
        attribute("new_regions", "Virtual", "Regions", type_name="MultiSelectPicklistType"),
        attribute("description", "Memo", "Description"),
    ]
}
CASTS = {
    "PicklistAttributeMetadata": [
        {
            "LogicalName": "salesstage",
            "OptionSet": {"Options": [option(0, "Qualify"), option(1, "Develop")]},
            "GlobalOptionSet": None,
        },
    ],
    "MultiSelectPicklistAttributeMetadata": [
        {
            "LogicalName": "new_regions",
            "OptionSet": None,
            "GlobalOptionSet": {"Options": [option(100000000, "North"), option(100000001, "South")]},
        },
    ],
    "StateAttributeMetadata": [
        {
            "LogicalName": "statecode",
            "OptionSet": {
                "Options": [
                    option(0, "Open", DefaultStatus=1),
                    option(1, "Won", DefaultStatus=3),
                    option(2, "Lost", DefaultStatus=4),
                ]
            },
        },
    ],
    "StatusAttributeMetadata": [
        {
            "LogicalName": "statuscode",
            "OptionSet": {
                "Options": [option(1, "In Progress", State=0), option(2, "On Hold", State=0), option(3, "Won", State=1)]
            },
        },
    ],
    "BooleanAttributeMetadata": [
        {
            "LogicalName": "isrevenuesystemcalculated",
            "OptionSet": {"TrueOption": option(1, "System Calculated"), "FalseOption": option(0, "User Provided")},
        },
    ],
    "LookupAttributeMetadata": [{"LogicalName": "customerid", "Targets": ["account", "contact"]}],
    "StringAttributeMetadata": [
        {"LogicalName": "name", "MaxLength": 300},
        {"LogicalName": "customeridname", "MaxLength": 100},
    ],
    "MemoAttributeMetadata": [{"LogicalName": "description", "MaxLength": 2000}],
}
MANY_TO_ONE = {
    "value": [
        {
            "SchemaName": "opportunity_customer_accounts",
            "ReferencingAttribute": "customerid",
            "ReferencedEntity": "account",
            "ReferencedAttribute": "accountid",
            "ReferencingEntityNavigationPropertyName": "customerid_account",
        },
        {
            "SchemaName": "opportunity_customer_contacts",
            "ReferencingAttribute": "customerid",
            "ReferencedEntity": "contact",
            "ReferencedAttribute": "contactid",
            "ReferencingEntityNavigationPropertyName": "customerid_contact",
        },
    ]
}
ONE_TO_MANY = {
    "value": [
        {
            "SchemaName": "Opportunity_Tasks",
            "ReferencingEntity": "task",
            "ReferencingAttribute": "regardingobjectid",
            "ReferencedEntityNavigationPropertyName": "Opportunity_Tasks",
            "CascadeConfiguration": {
                "Assign": "Cascade",
                "Delete": "Cascade",
                "Merge": "NoCascade",
                "Reparent": "Cascade",
            },
        },
    ]
}


MANY_TO_MANY = {
    "@odata.context": f"{CONTEXT}#EntityDefinitions('opportunity')/ManyToManyRelationships(SchemaName,"
                      "Entity1LogicalName,Entity2LogicalName,IntersectEntityName,Entity1NavigationPropertyName,"
                      "Entity2NavigationPropertyName)",
    "value": [
        {
            "SchemaName": "opportunitycompetitors_association",
            "Entity1LogicalName": "opportunity",
            "Entity2LogicalName": "competitor",
            "IntersectEntityName": "opportunitycompetitors",
            "Entity1NavigationPropertyName": "opportunitycompetitors_association",
            "Entity2NavigationPropertyName": "opportunitycompetitors_association",
            "MetadataId": "2a2b0d0e-0000-0000-0000-000000000000",
        },
    ],
}


def metadata_routes() -> dict[str, dict]:
    base = f"{API_PATH}EntityDefinitions(LogicalName='opportunity')"
    routes = {
        base: ENTITY,
        f"{base}/Attributes": ATTRIBUTES,
        f"{base}/ManyToOneRelationships": MANY_TO_ONE,
        f"{base}/OneToManyRelationships": ONE_TO_MANY,
        f"{base}/ManyToManyRelationships": MANY_TO_MANY,
    }
    for cast, rows in CASTS.items():
        routes[f"{base}/Attributes/Microsoft.Dynamics.CRM.{cast}"] = {"value": rows}
    return routes


async def test_get_table_issues_all_requests_concurrently_and_parses_them(harness):
    routes = metadata_routes()
    arrived = asyncio.Event()
    in_flight: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        in_flight.append(path)
        if len(in_flight) == len(routes):
            arrived.set()
        await asyncio.wait_for(arrived.wait(), timeout=5)  # sequential requests would never all arrive
        return httpx.Response(200, json=routes[path]) if path in routes else httpx.Response(404)

    h = harness(answer)
    table = await h.client.get_table("opportunity")

    assert sorted(in_flight) == sorted(routes)
    assert table.table.logical_name == "opportunity"
    assert table.table.entity_set == "opportunities"
    assert (table.table.display_name, table.table.primary_id, table.table.primary_name) == (
        "Opportunity",
        "opportunityid",
        "name",
    )
    assert table.table.description == "Potential revenue-generating event."

    names = [column.logical_name for column in table.columns]
    assert "customeridname" not in names  # a virtual shadow of the lookup, not a real column
    assert len(names) == 10

    assert table.column("name").max_length == 300
    assert table.column("name").required_level == "ApplicationRequired"
    assert table.column("description").max_length == 2000
    assert table.column("opportunityid").valid_for_update is False
    assert table.column("statecode").valid_for_create is False
    assert table.column("customerid").targets == ["account", "contact"]
    assert table.column("customerid").type == "Customer"
    assert [(o.value, o.label) for o in table.column("salesstage").options] == [(0, "Qualify"), (1, "Develop")]
    assert [(o.value, o.label, o.state) for o in table.column("statuscode").options] == [
        (1, "In Progress", 0),
        (2, "On Hold", 0),
        (3, "Won", 1),
    ]
    assert [o.label for o in table.column("statecode").options] == ["Open", "Won", "Lost"]
    assert [(o.value, o.label) for o in table.column("isrevenuesystemcalculated").options] == [
        (0, "User Provided"),
        (1, "System Calculated"),
    ]
    regions = table.column("new_regions")
    assert regions.type == "MultiSelectPicklist"
    assert [o.label for o in regions.options] == ["North", "South"]
    assert table.column("estimatedvalue").options is None

    assert [(r.navigation_property, r.referenced_entity) for r in table.many_to_one] == [
        ("customerid_account", "account"),
        ("customerid_contact", "contact"),
    ]
    assert table.one_to_many[0].cascade_delete == "Cascade"
    assert table.one_to_many[0].navigation_property == "Opportunity_Tasks"
    [competitors] = table.many_to_many
    assert (competitors.schema_name, competitors.intersect_entity) == ("opportunitycompetitors_association",
                                                                       "opportunitycompetitors")
    assert (competitors.entity1, competitors.entity2) == ("opportunity", "competitor")
    assert competitors.navigation_from("opportunity") == "opportunitycompetitors_association"
    assert competitors.navigation_from("account") is None


async def test_get_table_asks_for_the_many_to_many_columns_it_reads(harness):
    routes = metadata_routes()
    h = harness(lambda request: httpx.Response(200, json=routes[request.url.path]))
    await h.client.get_table("opportunity")
    request = next(r for r in h.requests if r.url.path.endswith("/ManyToManyRelationships"))
    assert dict(h.params(request)) == {"$select": "SchemaName,Entity1LogicalName,Entity2LogicalName,"
                                                  "IntersectEntityName,Entity1NavigationPropertyName,"
                                                  "Entity2NavigationPropertyName"}
    assert len(h.requests) == 13  # entity, attributes, three relationship kinds, eight typed casts: one round


async def test_get_table_typed_casts_ask_for_the_option_sets(harness):
    routes = metadata_routes()
    h = harness(lambda request: httpx.Response(200, json=routes[request.url.path]))
    await h.client.get_table("opportunity")
    picklist = next(
        r for r in h.requests if r.url.path.endswith("PicklistAttributeMetadata") and "MultiSelect" not in r.url.path
    )
    assert dict(h.params(picklist)) == {"$select": "LogicalName", "$expand": "OptionSet,GlobalOptionSet"}
    lookup = next(r for r in h.requests if r.url.path.endswith("LookupAttributeMetadata"))
    assert dict(h.params(lookup)) == {"$select": "LogicalName,Targets"}


@pytest.mark.parametrize("name", ["Opportunity", "opportunity')/x", "opportunity'", ""])
async def test_get_table_refuses_names_that_are_not_logical_names(harness, name):
    h = harness(httpx.Response(200, json={}))
    with pytest.raises(ValueError):
        await h.client.get_table(name)
    assert h.requests == []


async def test_list_tables_filters_private_and_intersect_tables_and_sorts(harness):
    body = {
        "@odata.context": f"{CONTEXT}#EntityDefinitions(LogicalName,EntitySetName)",
        "value": [
            {
                "LogicalName": "contact",
                "EntitySetName": "contacts",
                "DisplayName": label("Contact"),
                "PrimaryIdAttribute": "contactid",
                "PrimaryNameAttribute": "fullname",
                "Description": label(None),
            },
            {
                "LogicalName": "account",
                "EntitySetName": "accounts",
                "DisplayName": label("Account"),
                "PrimaryIdAttribute": "accountid",
                "PrimaryNameAttribute": "name",
                "Description": label("A business."),
            },
            {
                "LogicalName": "nosetname",
                "EntitySetName": None,
                "DisplayName": label(None),
                "PrimaryIdAttribute": "nosetnameid",
                "PrimaryNameAttribute": None,
            },
        ],
    }
    h = harness(httpx.Response(200, json=body))
    tables = await h.client.list_tables()
    assert h.path() == f"{API_PATH}EntityDefinitions"
    assert dict(h.params())["$filter"] == "IsPrivate eq false and IsIntersect eq false"
    assert "$orderby" not in dict(h.params())  # EntityDefinitions rejects $orderby
    assert [(t.logical_name, t.entity_set, t.display_name) for t in tables] == [
        ("account", "accounts", "Account"),
        ("contact", "contacts", "Contact"),
    ]
    assert tables[0].description == "A business." and tables[1].description is None


async def test_a_failing_metadata_request_fails_get_table(harness):
    routes = metadata_routes()
    denied = httpx.Response(403, json={"error": {"code": "0x80040220", "message": "missing prvReadEntity"}})

    def answer(request: httpx.Request) -> httpx.Response:
        return denied if "Lookup" in request.url.path else httpx.Response(200, json=routes[request.url.path])

    h = harness(answer)
    from dataverse.webapi import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        await h.client.get_table("opportunity")


async def test_get_table_columns_is_one_request_with_the_attributes_expanded(harness):
    h = harness(httpx.Response(200, json=ENTITY | {"IsPrivate": False, "IsIntersect": False,
                                                   "Attributes": ATTRIBUTES["value"]}))
    columns = await h.client.get_table_columns("opportunity")
    full = await harness(metadata_routes_answer()).client.get_table("opportunity")

    assert len(h.requests) == 1 and h.path() == f"{API_PATH}EntityDefinitions(LogicalName='opportunity')"
    params = dict(h.params())
    assert params["$expand"].startswith("Attributes($select=LogicalName,AttributeType,AttributeTypeName,")
    assert {"IsPrivate", "IsIntersect", "EntitySetName"} <= set(params["$select"].split(","))
    assert columns.listed and columns.table == full.table
    assert [(c.logical_name, c.type) for c in columns.columns] == [(c.logical_name, c.type) for c in full.columns]
    assert all(c.options is None and c.targets is None for c in columns.columns)  # those need the typed casts


@pytest.mark.parametrize("hidden", [{"IsPrivate": True}, {"IsIntersect": True}, {"EntitySetName": None}])
async def test_get_table_columns_marks_tables_the_list_leaves_out(harness, hidden):
    h = harness(httpx.Response(200, json=ENTITY | {"IsPrivate": False, "IsIntersect": False, "Attributes": []}
                               | hidden))
    assert (await h.client.get_table_columns("opportunity")).listed is False


def metadata_routes_answer():
    routes = metadata_routes()

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=routes[request.url.path])

    return answer
