"""Device readings as NGSI-LD entities, and temporal reads from the history store."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.base.outbox import OutboxEvent
from tests.support.city import City
from tests.support.ngsild import API, error_type, range_end
from tests.support.perception import BASE as PERCEPTION
from tests.support.perception import post as admin_post

KEY = "ngsild-tilt-key-01"


# Writes under /ngsi-ld/v1 need credentials: the demo API key, on every request.
pytestmark = pytest.mark.usefixtures("ngsild_credentials")


def setup_device(city: City) -> str:
    """A tilt sensor with a position; returns its entity id."""
    got = city.client.get(PERCEPTION + "/devices/tilt-9", headers=city.headers("admin"))
    if got.status_code == 200:
        return str(got.json()["entity_id"])
    admin_post(
        city,
        "/profiles",
        {
            "code": "ngsild-tilt",
            "name": "Tilt sensor",
            "entity_type": "ManholeCover",
            "codec": "ul",
            "codec_config": {
                "mappings": [
                    {"object_id": "t", "name": "tilt", "type": "Number", "unit": "deg"},
                    {"object_id": "c", "name": "temperature", "type": "Number", "unit": "°C"},
                    {"object_id": "s", "name": "status", "type": "Text"},
                ]
            },
        },
    )
    group = admin_post(city, "/groups", {"apikey": KEY, "profile_code": "ngsild-tilt"})
    device = admin_post(
        city,
        "/devices",
        {"device_id": "tilt-9", "group_id": group["id"], "lat": 49.41, "lon": 8.69},
    )
    return str(device["entity_id"])


def measure(city: City, body: str) -> None:
    response = city.client.post(
        "/iot/d",
        params={"k": KEY, "i": "tilt-9"},
        content=body.encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 200, response.text


def test_device_readings_appear_as_an_entity(city: City) -> None:
    entity_id = setup_device(city)
    measure(city, "2026-03-01T10:00:00Z|t|12|c|21.5|s|closed")
    entity = city.client.get(f"{API}/entities/{entity_id}").json()
    assert entity["type"] == "ManholeCover"
    assert entity["tilt"] == {
        "type": "Property",
        "value": 12,
        "observedAt": "2026-03-01T10:00:00Z",
        "unitCode": "DD",
    }
    assert entity["temperature"]["unitCode"] == "CEL"
    assert entity["status"]["value"] == "closed"
    assert entity["location"]["value"] == {"type": "Point", "coordinates": [8.69, 49.41]}
    # An older reading arriving late goes to history but never moves the value back.
    measure(city, "2026-03-01T09:00:00Z|t|3")
    assert city.client.get(f"{API}/entities/{entity_id}").json()["tilt"]["value"] == 12
    measure(city, "2026-03-01T11:00:00Z|t|45")
    assert city.client.get(f"{API}/entities/{entity_id}").json()["tilt"]["value"] == 45
    near = city.client.get(
        API + "/entities",
        params={
            "type": "ManholeCover",
            "q": "tilt>30",
            "georel": "near;maxDistance==100",
            "geometry": "Point",
            "coordinates": "[8.6901,49.4101]",
        },
    ).json()
    assert [e["id"] for e in near] == [entity_id]
    with city.ctx.reading() as session:
        # Device readings emit one event per batch, listing each entity it changed.
        events = [
            change
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "ngsild.entity.changed")
            )
            for change in e.payload.get("changes", [])
            if change["entity_id"] == entity_id
        ]
    # First message, late message (nothing moved: no event), newer message.
    assert len(events) == 2
    assert "https://uri.etsi.org/ngsi-ld/location" in events[0]["attributes"]


def test_temporal_reads_device_history(city: City) -> None:
    entity_id = setup_device(city)
    # The readings before 1 March 10:30 (resent by other tests too: duplicates are stored once).
    measure(city, "2026-03-01T09:00:00Z|t|3")
    measure(city, "2026-03-01T10:00:00Z|t|12|c|21.5|s|closed")
    for hour in range(12, 17):
        measure(city, f"2026-03-02T{hour}:00:00Z|t|{hour}")
    url = f"{API}/temporal/entities/{entity_id}"
    everything = city.client.get(url, params={"attrs": "tilt"}).json()
    assert everything["type"] == "ManholeCover"
    assert len(everything["tilt"]) >= 5
    assert everything["tilt"][0]["type"] == "Property"
    between = city.client.get(
        url,
        params={
            "attrs": "tilt",
            "timerel": "between",
            "timeAt": "2026-03-02T13:00:00Z",
            "endTimeAt": "2026-03-02T15:00:00Z",
        },
    ).json()
    assert [i["value"] for i in between["tilt"]] == [13, 14]
    assert between["tilt"][0]["observedAt"] == "2026-03-02T13:00:00Z"
    after = city.client.get(
        url,
        params={
            "attrs": "tilt",
            "timerel": "after",
            "timeAt": "2026-03-02T15:00:00Z",
            "options": "temporalValues",
        },
    ).json()
    # 4.11: after includes timeAt (before stays strictly before).
    assert after["tilt"] == {
        "type": "Property",
        "values": [[15, "2026-03-02T15:00:00Z"], [16, "2026-03-02T16:00:00Z"]],
    }
    before = city.client.get(
        url, params={"attrs": "tilt", "timerel": "before", "timeAt": "2026-03-01T10:30:00Z"}
    ).json()
    assert [i["value"] for i in before["tilt"]] == [3, 12]
    last = city.client.get(url, params={"attrs": "tilt", "lastN": "2"}).json()
    assert [i["value"] for i in last["tilt"]] == [15, 16]
    for bad in (
        {"timerel": "during", "timeAt": "2026-03-02T13:00:00Z"},
        {"timerel": "before"},
        {"timerel": "between", "timeAt": "2026-03-02T13:00:00Z"},
        {"timerel": "after", "timeAt": "soon"},
        {"lastN": "-1"},
        {"lastN": "²"},
    ):
        response = city.client.get(url, params=bad)
        assert response.status_code == 400, bad
    assert city.client.get(f"{API}/temporal/entities/urn:ngsi-ld:X:none").status_code == 404
    listed = city.client.get(
        API + "/temporal/entities", params={"type": "ManholeCover", "attrs": "tilt", "lastN": "1"}
    ).json()
    assert [e["id"] for e in listed] == [entity_id]
    assert listed[0]["tilt"][0]["value"] == 16
    assert city.client.get(API + "/temporal/entities").status_code == 400


def test_api_updates_join_the_history_and_long_series_are_paged(city: City) -> None:
    url = API + "/entities"
    body = {
        "id": "urn:ngsi-ld:AirQualityObserved:h1",
        "type": "AirQualityObserved",
        "NO2": {"type": "Property", "value": 40, "observedAt": "2026-04-01T00:00:00Z"},
        "level": {"type": "Property", "value": "good", "observedAt": "2026-04-01T00:00:00Z"},
    }
    assert city.client.post(url, json=body).status_code == 201
    for minute in range(1, 8):
        response = city.client.patch(
            f"{url}/urn:ngsi-ld:AirQualityObserved:h1/attrs",
            json={
                "NO2": {
                    "type": "Property",
                    "value": 40 + minute,
                    "observedAt": f"2026-04-01T00:0{minute}:00Z",
                }
            },
        )
        assert response.status_code == 204
    temporal = f"{API}/temporal/entities/urn:ngsi-ld:AirQualityObserved:h1"
    series = city.client.get(temporal).json()
    assert [i["value"] for i in series["NO2"]] == list(range(40, 48))
    assert series["level"][0]["value"] == "good"
    city.ctx.settings.ngsild_temporal_page = 3
    try:
        paged = city.client.get(temporal, params={"attrs": "NO2"})
    finally:
        city.ctx.settings.ngsild_temporal_page = 1000
    assert paged.status_code == 206
    assert [i["value"] for i in paged.json()["NO2"]] == [40, 41, 42]
    # The range ends at the first instant left out (00:03), where the next page starts.
    assert paged.headers["Content-Range"] == (
        "date-time 2026-04-01T00:00:00Z-2026-04-01T00:03:00Z/*"
    )
    tenant = city.client.get(temporal, headers={"NGSILD-Tenant": "nobody"})
    assert tenant.status_code == 404


def test_paging_with_after_the_range_end_walks_the_whole_series(city: City) -> None:
    """The advice in the docs: continue with timerel=after&timeAt=<end of the Content-Range>.
    With a page of one instance that must still advance, never repeat the boundary instance."""
    url = API + "/entities"
    body = {
        "id": "urn:ngsi-ld:AirQualityObserved:p1",
        "type": "AirQualityObserved",
        "NO2": {"type": "Property", "value": 0, "observedAt": "2026-05-01T00:00:00Z"},
    }
    assert city.client.post(url, json=body).status_code == 201
    for minute in range(1, 4):
        change = {
            "NO2": {
                "type": "Property",
                "value": minute,
                "observedAt": f"2026-05-01T00:0{minute}:00Z",
            }
        }
        assert city.client.patch(f"{url}/{body['id']}/attrs", json=change).status_code == 204
    temporal = f"{API}/temporal/entities/{body['id']}"
    seen: list[int] = []
    params = {"attrs": "NO2"}
    city.ctx.settings.ngsild_temporal_page = 1
    try:
        for _ in range(10):
            page = city.client.get(temporal, params=params)
            assert page.status_code in (200, 206), page.text
            instances = page.json().get("NO2", [])
            seen.extend(i["value"] for i in instances)
            if page.status_code == 200:
                break
            params = {"attrs": "NO2", "timerel": "after", "timeAt": range_end(page)}
    finally:
        city.ctx.settings.ngsild_temporal_page = 1000
    assert seen == [0, 1, 2, 3]


def test_temporal_queries_honour_id_pattern(city: City) -> None:
    url = API + "/entities"
    for local in ("north-1", "north-2", "south-1"):
        body = {
            "id": f"urn:ngsi-ld:WaterQualityObserved:{local}",
            "type": "WaterQualityObserved",
            "pH": {"type": "Property", "value": 7, "observedAt": "2026-06-01T00:00:00Z"},
        }
        assert city.client.post(url, json=body).status_code == 201, local
    temporal = f"{API}/temporal/entities"

    def ids(**params: str) -> list[str]:
        response = city.client.get(temporal, params={"type": "WaterQualityObserved", **params})
        assert response.status_code == 200, response.text
        return [entity["id"] for entity in response.json()]

    north = ["urn:ngsi-ld:WaterQualityObserved:north-1", "urn:ngsi-ld:WaterQualityObserved:north-2"]
    assert ids(idPattern="^urn:ngsi-ld:WaterQualityObserved:north-.*") == north
    # Unanchored, the pattern runs on every id; paging counts matching entities only.
    assert ids(idPattern="north") == north
    assert ids(idPattern="north", limit="1", offset="1") == north[1:]
    assert ids(idPattern="nowhere") == []
    # Alone it is not enough to ask with: ids and idPattern only narrow a type, attrs, q or a
    # geo-query (5.7.4.4, as 5.7.2.4 on GET /entities), unless local=true asks for everything.
    alone = city.client.get(temporal, params={"idPattern": "south-1$"})
    assert alone.status_code == 400, alone.text
    assert error_type(alone) == "BadRequestData"
    local = city.client.get(temporal, params={"idPattern": "south-1$", "local": "true"})
    assert [e["id"] for e in local.json()] == ["urn:ngsi-ld:WaterQualityObserved:south-1"]
    # A bad or too costly pattern is the client's error, named.
    bad = city.client.get(temporal, params={"type": "WaterQualityObserved", "idPattern": "("})
    assert bad.status_code == 400 and "idPattern" in bad.json()["detail"]
