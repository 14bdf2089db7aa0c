"""Device readings projected onto their entities: a batch over several devices and attributes
leaves each entity exactly as projecting the readings one by one would, with one event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.outbox import OutboxEvent
from cityloop.platforms.data.perception import service
from cityloop.platforms.data.perception.events import EntitiesChanged
from cityloop.platforms.data.perception.ingest import DeviceMessage, ingest_batch
from cityloop.platforms.data.perception.models import Device
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from tests.support.city import City

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
STATUS = "https://uri.etsi.org/ngsi-ld/status"  # a core term
CONFIG = {
    "mappings": [
        {"object_id": "t", "name": "temperature", "type": "Number", "unit": "°C"},
        {"object_id": "h", "name": "humidity", "type": "Number", "unit": "%"},
        {"object_id": "s", "name": "status", "type": "Text"},
    ]
}


def make_fleet(city: City) -> tuple[str, list[str]]:
    """A fresh profile and group with three devices: two placed, one not. (apikey, devices)"""
    suffix = uuid.uuid4().hex[:10]
    with city.ctx.db.writing() as session:
        service.create_profile(
            session,
            code=f"proj-{suffix}",
            name="Projection thermometer",
            entity_type="WeatherObserved",
            codec="ul",
            codec_config=CONFIG,
        )
        group = service.create_group(session, apikey=f"proj{suffix}", profile_code=f"proj-{suffix}")
        devices = [f"proj-{suffix}-{n}" for n in range(3)]
        service.create_device(session, device_id=devices[0], group=group, lat=31.2, lon=121.5)
        service.create_device(session, device_id=devices[1], group=group, lat=31.3, lon=121.4)
        service.create_device(session, device_id=devices[2], group=group)
    return group.apikey, devices


def ingest(city: City, apikey: str, sent: list[tuple[str, str]]) -> None:
    """One batch of (device, UltraLight payload) messages, as the MQTT writer stores them."""
    with city.ctx.db.writing() as session:
        outcomes = ingest_batch(
            session,
            messages=[DeviceMessage(apikey, device, payload.encode()) for device, payload in sent],
        )
    assert all(not isinstance(outcome, Exception) for outcome in outcomes), outcomes


def entity(session: Session, device: str) -> NgsiEntity:
    row = session.scalar(select(NgsiEntity).where(NgsiEntity.entity_id.endswith(":" + device)))
    assert row is not None
    return row


def events_naming(session: Session, devices: list[str]) -> list[EntitiesChanged]:
    """The change events that name any of ``devices``' entities, oldest first."""
    found = []
    for row in session.scalars(
        select(OutboxEvent).where(OutboxEvent.type == EntitiesChanged.type).order_by(OutboxEvent.id)
    ):
        event = EntitiesChanged.model_validate(row.payload)
        if any(change.entity_id.rsplit(":", 1)[-1] in devices for change in event.changes):
            found.append(event)
    return found


def without_stamps(attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {k: v for k, v in instance.items() if k not in ("createdAt", "modifiedAt")}
        for name, instance in attrs.items()
    }


def test_a_batch_over_several_devices_writes_each_entitys_newest_values(city: City) -> None:
    apikey, (north, south, loose) = make_fleet(city)
    ingest(
        city,
        apikey,
        [
            (north, "2024-03-01T01:00:00Z|t|10|h|50"),
            (south, "2024-03-01T02:00:00Z|t|20|s|ok"),
            (north, "2024-03-01T01:00:05Z|t|11"),
            (loose, "2024-03-01T03:00:00Z|s|fine"),
            (north, "2024-03-01T00:59:00Z|h|40"),  # older than the batch's 01:00 humidity
        ],
    )
    with city.ctx.reading() as session:
        first, second, third = (entity(session, d) for d in (north, south, loose))
        assert without_stamps(first.attrs) == {
            VOCAB + "temperature": {
                "type": "Property",
                "value": 11.0,
                "observedAt": "2024-03-01T01:00:05Z",
                "unitCode": "CEL",
            },
            VOCAB + "humidity": {
                "type": "Property",
                "value": 50.0,
                "observedAt": "2024-03-01T01:00:00Z",
                "unitCode": "P1",
            },
            LOCATION: {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [121.5, 31.2]},
            },
        }
        assert list(without_stamps(second.attrs)) == [
            VOCAB + "temperature",
            STATUS,
            LOCATION,
        ]
        assert second.attrs[STATUS]["value"] == "ok"
        assert "unitCode" not in second.attrs[STATUS]
        assert without_stamps(third.attrs) == {
            STATUS: {
                "type": "Property",
                "value": "fine",
                "observedAt": "2024-03-01T03:00:00Z",
            }
        }
        # New entities: typed by the profile, their located columns kept for geo queries.
        assert first.type == VOCAB + "WeatherObserved" and first.types == [first.type]
        assert (first.lat, first.lon, first.min_lat, first.max_lon, first.lat_span) == (
            31.2,
            121.5,
            31.2,
            121.5,
            0.0,
        )
        assert third.lat is None and third.min_lat is None
        stamps = {i["modifiedAt"] for row in (first, second, third) for i in row.attrs.values()}
        assert len(stamps) == 1  # one batch, one stamp
        assert first.modified_at >= first.created_at
        [event] = events_naming(session, [north, south, loose])
    assert [c.entity_id for c in event.changes] == [
        first.entity_id,
        second.entity_id,
        third.entity_id,
    ]
    assert event.changes[0].attributes == sorted(
        [VOCAB + "temperature", VOCAB + "humidity", LOCATION]
    )
    assert event.changes[2].attributes == [STATUS]
    assert event.changes[0].previous is None and not event.changes[0].created
    assert event.row_id == first.id


def test_an_older_reading_leaves_a_newer_value_and_an_update_keeps_created_at(city: City) -> None:
    apikey, (north, south, _) = make_fleet(city)
    ingest(
        city,
        apikey,
        [(north, "2024-03-01T01:00:10Z|t|10|h|50"), (south, "2024-03-01T01:00:00Z|t|1")],
    )
    with city.ctx.reading() as session:
        before = dict(entity(session, north).attrs)
    ingest(
        city,
        apikey,
        [
            (north, "2024-03-01T01:00:05Z|t|99"),  # late: older than the stored temperature
            (north, "2024-03-01T01:00:20Z|h|55"),
            (south, "2024-03-01T01:00:30Z|t|2"),
        ],
    )
    with city.ctx.reading() as session:
        first, second = entity(session, north), entity(session, south)
        assert first.attrs[VOCAB + "temperature"] == before[VOCAB + "temperature"]
        assert first.attrs[LOCATION] == before[LOCATION]
        humidity = first.attrs[VOCAB + "humidity"]
        assert humidity["value"] == 55.0 and humidity["observedAt"] == "2024-03-01T01:00:20Z"
        assert humidity["createdAt"] == before[VOCAB + "humidity"]["createdAt"]
        assert humidity["modifiedAt"] > before[VOCAB + "humidity"]["modifiedAt"]
        assert list(first.attrs) == list(before)  # attribute order unchanged
        assert second.attrs[VOCAB + "temperature"]["value"] == 2.0
        latest = events_naming(session, [north, south])[-1]
    # Only what moved is reported: not the late temperature, not the unchanged location.
    assert [(c.entity_id, c.attributes) for c in latest.changes] == [
        (first.entity_id, [VOCAB + "humidity"]),
        (second.entity_id, [VOCAB + "temperature"]),
    ]
    assert latest.row_id == first.id


def test_a_batch_of_only_late_readings_changes_nothing_and_emits_no_event(city: City) -> None:
    apikey, (north, _, _) = make_fleet(city)
    ingest(city, apikey, [(north, "2024-03-01T01:00:10Z|t|10")])
    with city.ctx.reading() as session:
        before = entity(session, north)
        attrs, modified = dict(before.attrs), before.modified_at
    ingest(city, apikey, [(north, "2024-03-01T01:00:00Z|t|5")])
    with city.ctx.reading() as session:
        after = entity(session, north)
        assert (after.attrs, after.modified_at) == (attrs, modified)
        assert len(events_naming(session, [north])) == 1


def test_an_entity_the_session_already_holds_shows_the_batchs_values(city: City) -> None:
    apikey, (north, _, _) = make_fleet(city)
    ingest(city, apikey, [(north, "2024-03-01T01:00:00Z|t|10")])
    with city.ctx.db.writing() as session:
        held = entity(session, north)
        assert held.attrs[VOCAB + "temperature"]["value"] == 10.0
        ingest_batch(session, messages=[DeviceMessage(apikey, north, b"2024-03-01T02:00:00Z|t|12")])
        assert entity(session, north) is held
        assert held.attrs[VOCAB + "temperature"]["value"] == 12.0


def test_a_device_moved_since_its_last_batch_moves_its_entitys_location(city: City) -> None:
    apikey, (north, south, _) = make_fleet(city)
    ingest(
        city, apikey, [(north, "2024-03-01T01:00:00Z|t|10"), (south, "2024-03-01T01:00:00Z|t|1")]
    )
    with city.ctx.db.writing() as session:
        device = session.scalar(select(Device).where(Device.device_id == north))
        assert device is not None
        device.lat, device.lon = 31.25, 121.45
    ingest(
        city, apikey, [(north, "2024-03-01T02:00:00Z|t|11"), (south, "2024-03-01T02:00:00Z|t|2")]
    )
    with city.ctx.reading() as session:
        moved, stayed = entity(session, north), entity(session, south)
        assert moved.attrs[LOCATION]["value"] == {"type": "Point", "coordinates": [121.45, 31.25]}
        assert (moved.lat, moved.lon, moved.min_lat, moved.max_lon) == (
            31.25,
            121.45,
            31.25,
            121.45,
        )
        assert (stayed.lat, stayed.lon) == (31.3, 121.4)
        latest = events_naming(session, [north, south])[-1]
    assert [c.attributes for c in latest.changes] == [
        sorted([VOCAB + "temperature", LOCATION]),
        [VOCAB + "temperature"],
    ]
