"""The NGSI-LD temporal API (ETSI GS CIM 009 v1.8): provision (clauses 5.6.11-5.6.16, 6.18-6.22)
and consumption (5.7.3-5.7.4: lastN, timeproperty, temporalValues, aggregatedValues)."""

from __future__ import annotations

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TEMPORAL = API + "/temporal/entities"


def vehicle(entity_id: str, kind: str = "Vehicle") -> dict[str, object]:
    """A temporal representation with several attribute types, instances and a datasetId."""
    return {
        "id": entity_id,
        "type": kind,
        "speed": [
            {"type": "Property", "value": 120, "observedAt": "2020-09-01T12:03:00Z"},
            {"type": "Property", "value": 80, "observedAt": "2020-09-01T12:05:00Z"},
            {"type": "Property", "value": 100, "observedAt": "2020-09-01T13:05:00Z"},
        ],
        "fuel": [
            {"type": "Property", "value": 67, "observedAt": "2020-09-01T12:03:00Z"},
            {
                "type": "Property",
                "value": 40,
                "observedAt": "2020-09-01T14:07:00Z",
                "datasetId": "urn:ngsi-ld:Dataset:tank2",
            },
        ],
        "parkedIn": [
            {
                "type": "Relationship",
                "object": "urn:ngsi-ld:Parking:A",
                "observedAt": "2020-09-01T12:00:00Z",
            },
            {
                "type": "Relationship",
                "object": "urn:ngsi-ld:Parking:B",
                "observedAt": "2020-09-01T15:00:00Z",
            },
        ],
        "name": [
            {
                "type": "LanguageProperty",
                "languageMap": {"en": "My car", "fr": "Ma voiture"},
                "observedAt": "2020-09-01T12:00:00Z",
            }
        ],
    }


def create(city: City, entity_id: str) -> None:
    response = city.client.post(TEMPORAL, json=vehicle(entity_id))
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{TEMPORAL}/{entity_id}"


def test_create_keeps_every_instance_of_every_attribute_type(city: City) -> None:
    """5.6.11: a new temporal representation is 201; 5.7.3 reads every instance back, each with
    a broker-assigned instanceId (4.5.7), in normalized form."""
    create(city, "urn:ngsi-ld:Vehicle:t1")
    got = city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t1")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["type"] == "Vehicle"
    assert [i["value"] for i in body["speed"]] == [120, 80, 100]
    assert all(i["instanceId"].startswith("urn:") for i in body["speed"])
    assert len({i["instanceId"] for i in body["speed"]}) == 3
    assert [i["object"] for i in body["parkedIn"]] == [
        "urn:ngsi-ld:Parking:A",
        "urn:ngsi-ld:Parking:B",
    ]
    assert body["name"][0]["languageMap"] == {"en": "My car", "fr": "Ma voiture"}
    assert body["fuel"][1]["datasetId"] == "urn:ngsi-ld:Dataset:tank2"
    assert "createdAt" not in body["speed"][0]
    sys_attrs = city.client.get(
        f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t1", params={"options": "sysAttrs"}
    )
    assert "createdAt" in sys_attrs.json()["speed"][0]
    # The entity's current state is each attribute's newest instance.
    current = city.client.get(f"{API}/entities/urn:ngsi-ld:Vehicle:t1").json()
    assert current["parkedIn"]["object"] == "urn:ngsi-ld:Parking:B"


def test_a_second_post_adds_instances_and_types(city: City) -> None:
    """5.6.11: posting an existing temporal entity adds its instances and types: 204."""
    create(city, "urn:ngsi-ld:Vehicle:t2")
    more = {
        "id": "urn:ngsi-ld:Vehicle:t2",
        "type": ["Vehicle", "Truck"],
        "speed": [{"type": "Property", "value": 60, "observedAt": "2020-09-02T00:00:00Z"}],
    }
    assert city.client.post(TEMPORAL, json=more).status_code == 204
    body = city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t2").json()
    assert body["type"] == ["Vehicle", "Truck"]
    assert [i["value"] for i in body["speed"]] == [120, 80, 100, 60]


@pytest.mark.parametrize(
    ("body", "member"),
    [
        ({"type": "Vehicle"}, "id"),
        ({"id": "urn:ngsi-ld:Vehicle:bad", "type": "Vehicle", "speed": 5}, "speed"),
        (
            {"id": "urn:ngsi-ld:Vehicle:bad", "type": "Vehicle", "speed": [{"type": "Nope"}]},
            "speed",
        ),
        ({"id": "not a uri", "type": "Vehicle"}, "id"),
    ],
)
def test_bad_temporal_entities_are_bad_request_data(
    city: City, body: dict[str, object], member: str
) -> None:
    """5.6.11.4: an invalid temporal entity is 400 BadRequestData naming the member."""
    response = city.client.post(TEMPORAL, json=body)
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"
    assert member in response.json()["detail"]


def test_append_delete_attribute_and_instances(city: City) -> None:
    """5.6.12 add instances, 5.6.13 delete an attribute (datasetId, deleteAll), 5.6.14 patch an
    instance (its instanceId stays), 5.6.15 delete an instance."""
    entity = "urn:ngsi-ld:Vehicle:t3"
    create(city, entity)
    added = city.client.post(
        f"{TEMPORAL}/{entity}/attrs",
        json={"speed": [{"type": "Property", "value": 10, "observedAt": "2020-09-03T00:00:00Z"}]},
    )
    assert added.status_code == 204, added.text
    speeds = city.client.get(f"{TEMPORAL}/{entity}").json()["speed"]
    assert [i["value"] for i in speeds] == [120, 80, 100, 10]
    first = speeds[0]["instanceId"]
    patched = city.client.patch(
        f"{TEMPORAL}/{entity}/attrs/speed/{first}",
        json={"type": "Property", "value": 129, "observedAt": "2020-09-01T12:03:00Z"},
    )
    assert patched.status_code == 204, patched.text
    speeds = city.client.get(f"{TEMPORAL}/{entity}").json()["speed"]
    assert (speeds[0]["instanceId"], speeds[0]["value"]) == (first, 129)
    gone = city.client.delete(f"{TEMPORAL}/{entity}/attrs/speed/{speeds[1]['instanceId']}")
    assert gone.status_code == 204
    assert city.client.delete(f"{TEMPORAL}/{entity}/attrs/speed/urn:x:1").status_code == 404
    assert len(city.client.get(f"{TEMPORAL}/{entity}").json()["speed"]) == 3
    # The default fuel instances go; the datasetId's stay until named.
    assert city.client.delete(f"{TEMPORAL}/{entity}/attrs/fuel").status_code == 204
    fuel = city.client.get(f"{TEMPORAL}/{entity}").json()["fuel"]
    assert [i.get("datasetId") for i in fuel] == ["urn:ngsi-ld:Dataset:tank2"]
    deleted = city.client.delete(
        f"{TEMPORAL}/{entity}/attrs/fuel", params={"datasetId": "urn:ngsi-ld:Dataset:tank2"}
    )
    assert deleted.status_code == 204
    assert (
        city.client.delete(
            f"{TEMPORAL}/{entity}/attrs/speed", params={"deleteAll": "true"}
        ).status_code
        == 204
    )
    body = city.client.get(f"{TEMPORAL}/{entity}").json()
    assert "speed" not in body and "fuel" not in body
    assert city.client.delete(f"{TEMPORAL}/{entity}/attrs/speed").status_code == 404


def test_deleting_the_entity_or_its_temporal_representation_deletes_both(city: City) -> None:
    """5.6.16 deletes the temporal representation; deleting the entity (5.6.6) drops its
    history too, so an id used again starts with an empty history."""
    create(city, "urn:ngsi-ld:Vehicle:t4")
    assert city.client.delete(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t4").status_code == 204
    assert city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t4").status_code == 404
    assert city.client.get(f"{API}/entities/urn:ngsi-ld:Vehicle:t4").status_code == 404
    assert city.client.delete(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t4").status_code == 404
    create(city, "urn:ngsi-ld:Vehicle:t5")
    assert city.client.delete(f"{API}/entities/urn:ngsi-ld:Vehicle:t5").status_code == 204
    assert city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t5").status_code == 404


def test_simplified_and_timeproperty(city: City) -> None:
    """4.5.9 simplified temporal representation (options=temporalValues): per attribute type its
    member of [content, time] pairs; 5.7.3 timeproperty picks the time filtered on."""
    create(city, "urn:ngsi-ld:Vehicle:t6")
    url = f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t6"
    body = city.client.get(url, params={"options": "temporalValues"}).json()
    assert body["speed"] == {
        "type": "Property",
        "values": [
            [120, "2020-09-01T12:03:00Z"],
            [80, "2020-09-01T12:05:00Z"],
            [100, "2020-09-01T13:05:00Z"],
        ],
    }
    assert body["parkedIn"]["objects"][1] == ["urn:ngsi-ld:Parking:B", "2020-09-01T15:00:00Z"]
    assert body["name"]["languageMaps"][0][0] == {
        "languageMap": {"en": "My car", "fr": "Ma voiture"}
    }
    later = city.client.get(
        url, params={"timerel": "after", "timeAt": "2020-09-01T12:04:00Z", "attrs": "speed"}
    ).json()
    assert [i["value"] for i in later["speed"]] == [80, 100]
    # Every instance was created just now, long after 2021.
    created = city.client.get(
        url,
        params={"timerel": "after", "timeAt": "2021-01-01T00:00:00Z", "timeproperty": "createdAt"},
    ).json()
    assert len(created["speed"]) == 3
    last = city.client.get(url, params={"lastN": "1", "attrs": "speed"}).json()
    assert [i["value"] for i in last["speed"]] == [100]
    # 6.3.x: format, when given, decides the representation over options.
    chosen = city.client.get(
        url,
        params={
            "attrs": "speed",
            "format": "temporalValues",
            "options": "aggregatedValues",
            "aggrMethods": "sum",
        },
    ).json()
    assert chosen["speed"]["values"][0] == [120, "2020-09-01T12:03:00Z"]


def test_aggregated_values(city: City) -> None:
    """4.5.19 / 5.7.3 aggregatedValues: each aggrMethod as [value, start, end] per period of
    aggrPeriodDuration from the first instance in the range (one period without it)."""
    create(city, "urn:ngsi-ld:Vehicle:t7")
    url = f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t7"
    params = {
        "options": "aggregatedValues",
        "aggrMethods": "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq",
        "attrs": "speed",
        "timerel": "after",
        "timeAt": "2020-09-01T12:00:00Z",
        "aggrPeriodDuration": "PT1H",
    }
    speed = city.client.get(url, params=params).json()["speed"]
    assert speed["type"] == "Property"
    assert speed["totalCount"] == [
        [2, "2020-09-01T12:03:00Z", "2020-09-01T13:03:00Z"],
        [1, "2020-09-01T13:03:00Z", "2020-09-01T14:03:00Z"],
    ]
    assert [v[0] for v in speed["sum"]] == [200, 100]
    assert [v[0] for v in speed["avg"]] == [100, 100]
    assert [v[0] for v in speed["min"]] == [80, 100]
    assert [v[0] for v in speed["max"]] == [120, 100]
    assert [v[0] for v in speed["sumsq"]] == [120 * 120 + 80 * 80, 100 * 100]
    assert speed["stddev"][0][0] == pytest.approx(28.2843, rel=1e-4)
    assert [v[0] for v in speed["distinctCount"]] == [2, 1]
    whole = city.client.get(
        url, params={"options": "aggregatedValues", "aggrMethods": "avg", "attrs": "speed"}
    ).json()["speed"]
    assert whole["avg"] == [[100, "2020-09-01T12:03:00Z", "2020-09-01T13:05:00Z"]]


@pytest.mark.parametrize(
    ("params", "member"),
    [
        ({"options": "aggregatedValues"}, "aggrMethods"),
        ({"options": "aggregatedValues", "aggrMethods": "median"}, "aggrMethods"),
        (
            {"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "1D"},
            "aggrPeriodDuration",
        ),
        (
            {"options": "aggregatedValues", "aggrMethods": "sum", "aggrPeriodDuration": "P9999Y"},
            "aggrPeriodDuration",
        ),
        ({"timeproperty": "updatedAt"}, "timeproperty"),
        ({"timerel": "after", "timeAt": "2020-08-01"}, "timeAt"),
        ({"lastN": "0"}, "lastN"),
        ({"timerel": "during", "timeAt": "2020-01-01T00:00:00Z"}, "timerel"),
        ({"timerel": "between", "timeAt": "2020-01-01T00:00:00Z"}, "endTimeAt"),
    ],
)
def test_bad_temporal_parameters_name_themselves(
    city: City, params: dict[str, str], member: str
) -> None:
    """5.7.3.4: invalid temporal query parameters are 400 BadRequestData naming the parameter."""
    # The city is shared by the module: the first case creates, the others add (204).
    assert city.client.post(TEMPORAL, json=vehicle("urn:ngsi-ld:Vehicle:t8")).status_code in (
        201,
        204,
    )
    response = city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:t8", params=params)
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"
    assert member in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "english", "chinese"),
    [
        (
            {"timerel": "during", "timeAt": "2020-01-01T00:00:00Z"},
            "timerel must be before, after or between",
            "timerel 必须是 before、after 或 between",
        ),
        (
            {"options": "aggregatedValues", "aggrMethods": "median"},
            "aggrMethods: 'median' is not one of "
            "totalCount, distinctCount, sum, avg, min, max, stddev, sumsq",
            "aggrMethods：'median' 不是以下之一："
            "totalCount, distinctCount, sum, avg, min, max, stddev, sumsq",
        ),
    ],
)
def test_temporal_error_details_read_in_the_readers_language(
    city: City, params: dict[str, str], english: str, chinese: str
) -> None:
    """A temporal read's error detail is in the reader's language (Accept-Language); its type
    and title stay the ETSI names."""
    url = f"{TEMPORAL}/urn:ngsi-ld:Vehicle:lang"
    in_english = city.client.get(url, params=params)
    in_chinese = city.client.get(url, params=params, headers={"Accept-Language": "zh-CN"})
    assert in_english.status_code == in_chinese.status_code == 400
    assert in_english.json()["detail"] == english
    assert in_chinese.json()["detail"] == chinese
    for key in ("type", "title", "status"):
        assert in_chinese.json()[key] == in_english.json()[key]


def test_write_error_details_read_in_the_readers_language(city: City) -> None:
    """A write to an entity that does not exist is a 404 whose detail follows Accept-Language."""
    url = API + "/entities/urn:ngsi-ld:Vehicle:nowhere/attrs/speed"
    body = {"type": "Property", "value": 1}
    in_english = city.client.patch(url, json=body)
    in_chinese = city.client.patch(url, json=body, headers={"Accept-Language": "zh-CN"})
    assert in_english.status_code == in_chinese.status_code == 404
    assert in_english.json()["detail"] == "entity urn:ngsi-ld:Vehicle:nowhere does not exist"
    assert in_chinese.json()["detail"] == "实体 urn:ngsi-ld:Vehicle:nowhere 不存在"
    assert error_type(in_chinese) == "ResourceNotFound"


def test_temporal_query_by_q_and_by_post(city: City) -> None:
    """5.7.4 query temporal evolution by q; 6.24 POST /temporal/entityOperations/query with a
    temporalQ and aggrParams."""
    # A type of its own: the module's other tests share this city.
    assert (
        city.client.post(TEMPORAL, json=vehicle("urn:ngsi-ld:Lorry:t9", "Lorry")).status_code == 201
    )
    slow = vehicle("urn:ngsi-ld:Lorry:t10", "Lorry")
    slow["speed"] = [{"type": "Property", "value": 5, "observedAt": "2020-09-01T12:03:00Z"}]
    assert city.client.post(TEMPORAL, json=slow).status_code == 201
    # 5.7.4: an entity without any instance in the time range is left out.
    recent = city.client.get(
        TEMPORAL,
        params={
            "type": "Lorry",
            "attrs": "speed",
            "timerel": "after",
            "timeAt": "2020-09-01T12:04:00Z",
        },
    ).json()
    assert [e["id"] for e in recent] == ["urn:ngsi-ld:Lorry:t9"]
    fast = city.client.get(TEMPORAL, params={"type": "Lorry", "q": "speed>50", "count": "true"})
    assert fast.status_code == 200, fast.text
    assert [e["id"] for e in fast.json()] == ["urn:ngsi-ld:Lorry:t9"]
    assert fast.headers["NGSILD-Results-Count"] == "1"
    posted = city.client.post(
        API + "/temporal/entityOperations/query",
        json={
            "type": "Query",
            "entities": [{"type": "Lorry"}],
            "attrs": ["speed"],
            "temporalQ": {"timerel": "after", "timeAt": "2020-09-01T00:00:00Z"},
            "aggrParams": {"aggrMethods": ["max"], "aggrPeriodDuration": "PT0S"},
        },
    )
    assert posted.status_code == 200, posted.text
    found = {e["id"]: e["speed"]["max"][0][0] for e in posted.json()}
    assert found == {"urn:ngsi-ld:Lorry:t9": 120, "urn:ngsi-ld:Lorry:t10": 5}
    bad = city.client.post(
        API + "/temporal/entityOperations/query",
        json={
            "type": "Query",
            "entities": [{"type": "Vehicle"}],
            "aggrParams": {"aggrMethods": ["x"]},
        },
    )
    assert bad.status_code == 400
    assert "aggrMethods" in bad.json()["detail"]


def test_two_datasets_may_share_a_time_and_datasetid_filters(city: City) -> None:
    """4.5.5: instances of one attribute differ by datasetId, also at the same observedAt;
    5.7.3 datasetId selects instances (``@none``: the default instance)."""
    entity = "urn:ngsi-ld:Vehicle:t11"
    create(city, entity)
    same_time = {
        "id": entity,
        "type": "Vehicle",
        "fuel": [{"type": "Property", "value": 41, "observedAt": "2020-09-01T14:07:00Z"}],
    }
    assert city.client.post(TEMPORAL, json=same_time).status_code == 204
    url = f"{TEMPORAL}/{entity}"
    fuel = city.client.get(url, params={"attrs": "fuel"}).json()["fuel"]
    assert sorted(i["value"] for i in fuel) == [40, 41, 67]
    default = city.client.get(url, params={"attrs": "fuel", "datasetId": "@none"}).json()
    assert [i["value"] for i in default["fuel"]] == [67, 41]
    tank = city.client.get(
        url, params={"datasetId": "urn:ngsi-ld:Dataset:tank2", "options": "temporalValues"}
    ).json()
    assert tank["fuel"] == {
        "type": "Property",
        "datasetId": "urn:ngsi-ld:Dataset:tank2",
        "values": [[40, "2020-09-01T14:07:00Z"]],
    }
    assert city.client.get(url, params={"datasetId": "not a uri"}).status_code == 400


def test_deleting_an_attribute_leaves_a_deletion_instance(city: City) -> None:
    """4.5.x: deleting an attribute (5.6.5) adds an NGSI-LD Null instance with deletedAt to its
    history; timeproperty=deletedAt reads those."""
    entity = "urn:ngsi-ld:Vehicle:t12"
    create(city, entity)
    assert city.client.delete(f"{API}/entities/{entity}/attrs/parkedIn").status_code == 204
    got = city.client.get(f"{TEMPORAL}/{entity}", params={"timeproperty": "deletedAt"}).json()
    (deletion,) = got["parkedIn"]
    assert deletion["object"] == "urn:ngsi-ld:null"
    assert deletion["deletedAt"]
    assert "speed" not in got
    everything = city.client.get(f"{TEMPORAL}/{entity}", params={"attrs": "parkedIn"}).json()
    assert len(everything["parkedIn"]) == 3


@pytest.mark.parametrize(
    "how",
    ["update", "partial update", "merge"],
)
def test_the_ngsi_ld_null_in_an_update_leaves_a_deletion_instance_too(city: City, how: str) -> None:
    """4.5.x with 5.6.2, 5.6.4 and 5.6.17: an attribute deleted by the NGSI-LD Null in an
    update, a partial update or a merge is kept in its history as DELETE keeps it."""
    entity = "urn:ngsi-ld:Vehicle:null-" + how.replace(" ", "-")
    create(city, entity)
    null = {"type": "Relationship", "object": "urn:ngsi-ld:null"}
    if how == "update":
        answer = city.client.patch(f"{API}/entities/{entity}/attrs", json={"parkedIn": null})
    elif how == "partial update":
        answer = city.client.patch(f"{API}/entities/{entity}/attrs/parkedIn", json=null)
    else:
        answer = city.client.patch(f"{API}/entities/{entity}", json={"parkedIn": null})
    assert answer.status_code == 204
    assert "parkedIn" not in city.client.get(f"{API}/entities/{entity}").json()
    got = city.client.get(f"{TEMPORAL}/{entity}", params={"timeproperty": "deletedAt"}).json()
    (deletion,) = got["parkedIn"]
    assert deletion["object"] == "urn:ngsi-ld:null" and deletion["deletedAt"]
