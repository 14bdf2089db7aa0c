"""Device ingestion: the IoT-Agent-style measure endpoint, the JSON batch, history and latest."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.base.bulk import INLINE_MAX_ROWS
from cityloop.platforms.data.perception.models import Device
from tests.support.city import City
from tests.support.perception import BASE, batch, measures_of, post
from tests.support.statements import statements_sent

UL_KEY = "ingest-ul-key-0001"
JSON_KEY = "ingest-json-key-01"
AUTO_KEY = "ingest-auto-key-01"


def setup_registry(city: City) -> None:
    """Two profiles, three groups and two registered devices, created once per module."""
    if city.client.get(BASE + "/devices/ul-1", headers=city.headers("admin")).status_code == 200:
        return
    post(
        city,
        "/profiles",
        {
            "code": "ingest-ul",
            "name": "UL tilt sensor",
            "entity_type": "ManholeCover",
            "codec": "ul",
            "codec_config": {
                "mappings": [
                    {
                        "object_id": "t",
                        "name": "tilt",
                        "type": "Number",
                        "unit": "DD",
                        "minimum": 0,
                        "maximum": 90,
                    },
                    {"object_id": "s", "name": "status", "type": "Text"},
                ]
            },
        },
    )
    post(
        city,
        "/profiles",
        {
            "code": "ingest-json",
            "name": "JSON waste bin",
            "entity_type": "WasteContainer",
            "codec": "json",
            "codec_config": {
                "mappings": [
                    {
                        "object_id": "lvl",
                        "name": "fillingLevel",
                        "type": "Number",
                        "unit": "P1",
                        "expression": "value / 100",
                    }
                ]
            },
        },
    )
    ul_group = post(city, "/groups", {"apikey": UL_KEY, "profile_code": "ingest-ul"})
    json_group = post(city, "/groups", {"apikey": JSON_KEY, "profile_code": "ingest-json"})
    post(city, "/groups", {"apikey": AUTO_KEY, "profile_code": "ingest-ul", "auto_provision": True})
    post(city, "/devices", {"device_id": "ul-1", "group_id": ul_group["id"]})
    post(city, "/devices", {"device_id": "bin-1", "group_id": json_group["id"]})


def measure(city: City, key: str, device: str, body: str, content_type: str = "text/plain") -> Any:
    return city.client.post(
        "/iot/d",
        params={"k": key, "i": device},
        content=body.encode(),
        headers={"Content-Type": content_type},
    )


def latest(city: City, device: str) -> dict[str, Any]:
    response = city.client.get(f"{BASE}/devices/{device}/latest", headers=city.headers("admin"))
    assert response.status_code == 200, response.text
    return dict(response.json()["attributes"])


def test_an_ultralight_measure_is_stored_and_updates_the_latest_value(city: City) -> None:
    setup_registry(city)
    response = measure(city, UL_KEY, "ul-1", "2026-01-01T10:00:00Z|t|12.5|s|closed")
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 2, "duplicates": 0}
    values = latest(city, "ul-1")
    assert values["tilt"]["value"] == 12.5
    assert values["tilt"]["unit"] == "DD"
    assert values["status"]["value"] == "closed"
    history = measures_of(city, "ul-1", attribute="tilt")
    assert [(m["attribute"], m["value"]) for m in history["items"]] == [("tilt", 12.5)]


def test_a_json_mapping_applies_its_expression_and_unit(city: City) -> None:
    setup_registry(city)
    body = '{"lvl": 9000, "timestamp": "2026-01-01T10:00:00Z"}'
    response = measure(city, JSON_KEY, "bin-1", body, "application/json")
    assert response.status_code == 200, response.text
    values = latest(city, "bin-1")
    assert values["fillingLevel"]["value"] == 90
    assert values["fillingLevel"]["unit"] == "P1"


def test_the_same_reading_sent_twice_is_stored_once(city: City) -> None:
    setup_registry(city)
    body = "2026-01-02T08:00:00+00:00|t|30"
    assert measure(city, UL_KEY, "ul-1", body).json() == {"stored": 1, "duplicates": 0}
    assert measure(city, UL_KEY, "ul-1", body).json() == {"stored": 0, "duplicates": 1}
    history = measures_of(city, "ul-1", attribute="tilt", since="2026-01-02T00:00:00Z")
    assert len(history["items"]) == 1


def test_an_unknown_api_key_is_rejected_with_401_naming_k(city: City) -> None:
    setup_registry(city)
    response = measure(city, "no-such-key-000", "ul-1", "t|1")
    assert response.status_code == 401
    assert response.json()["field"] == "k"


def test_an_unknown_device_without_auto_provisioning_is_404_naming_i(city: City) -> None:
    setup_registry(city)
    response = measure(city, UL_KEY, "ghost-1", "t|1")
    assert response.status_code == 404
    assert response.json()["field"] == "i"


def test_auto_provisioning_creates_the_device_on_its_first_message(city: City) -> None:
    setup_registry(city)
    response = measure(city, AUTO_KEY, "auto-1", "t|5")
    assert response.status_code == 200, response.text
    device = city.client.get(f"{BASE}/devices/auto-1", headers=city.headers("admin"))
    assert device.status_code == 200
    assert device.json()["entity_id"] == "urn:ngsi-ld:ManholeCover:auto-1"
    assert device.json()["last_seen_at"] is not None
    assert latest(city, "auto-1")["tilt"]["value"] == 5


def test_a_device_of_another_group_is_refused(city: City) -> None:
    setup_registry(city)
    response = measure(city, UL_KEY, "bin-1", "t|5")
    assert response.status_code == 403
    assert response.json()["field"] == "i"


def test_malformed_ultralight_is_400_naming_the_field(city: City) -> None:
    setup_registry(city)
    response = measure(city, UL_KEY, "ul-1", "t||h|4")
    assert response.status_code == 400
    assert response.json()["field"] == "t"
    response = measure(city, UL_KEY, "ul-1", "t|abc")
    assert response.status_code == 400
    assert response.json()["field"] == "tilt"


def test_an_out_of_range_value_is_400_naming_the_attribute(city: City) -> None:
    setup_registry(city)
    response = measure(city, UL_KEY, "ul-1", "t|120")
    assert response.status_code == 400
    assert response.json()["field"] == "tilt"
    assert "maximum" in response.json()["detail"]


def test_a_batch_keeps_its_good_items_when_one_is_bad(city: City) -> None:
    setup_registry(city)
    results = batch(
        city,
        [
            {"k": UL_KEY, "i": "ul-1", "payload": "2026-02-01T00:00:00Z|t|10"},
            {"k": UL_KEY, "i": "ul-1", "payload": "t|999"},
            {"k": JSON_KEY, "i": "bin-1", "payload": '{"lvl": 5000}'},
        ],
    )
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["status"] == 400
    assert results[1]["field"] == "tilt"
    assert results[0]["stored"] == 1
    assert latest(city, "bin-1")["fillingLevel"]["value"] == 50
    history = measures_of(city, "ul-1", since="2026-02-01T00:00:00Z")
    assert [m["value"] for m in history["items"]] == [10]


def test_untimed_messages_of_one_device_in_one_batch_are_all_stored(city: City) -> None:
    setup_registry(city)
    since = datetime.now(UTC).isoformat()
    items = [{"k": UL_KEY, "i": "ul-1", "payload": f"t|{n}"} for n in range(5)]
    response = city.client.post(BASE + "/measures", json={"measures": items})
    assert response.status_code == 200, response.text
    assert [r["stored"] for r in response.json()["results"]] == [1, 1, 1, 1, 1]
    history = measures_of(city, "ul-1", attribute="tilt", since=since)
    assert sorted(m["value"] for m in history["items"]) == [0, 1, 2, 3, 4]
    # The arrival order is kept, so the last message sets the latest value.
    assert latest(city, "ul-1")["tilt"]["value"] == 4


def test_an_older_reading_does_not_overwrite_the_latest_value(city: City) -> None:
    setup_registry(city)
    device = f"auto-order-{uuid.uuid4().hex[:8]}"  # its own device: no other test's readings
    assert measure(city, AUTO_KEY, device, "2025-06-01T00:00:00Z|t|40").status_code == 200
    assert measure(city, AUTO_KEY, device, "2025-01-01T00:00:00Z|t|41").status_code == 200
    values = latest(city, device)
    assert values["tilt"]["value"] == 40
    assert values["tilt"]["observed_at"].startswith("2025-06-01T00:00:00")


@pytest.mark.parametrize(
    ("payload", "reason", "field"),
    [
        # A clock far ahead would freeze the latest value for ever (newest wins).
        ("2999-01-01T00:00:00Z|t|3", "bad-timestamp", "tilt"),
        ("1900-01-01T00:00:00Z|t|3", "bad-timestamp", "tilt"),
        ("9999-12-31T23:00:00-05:00|t|3", "bad-timestamp", "tilt"),
        ("0001-01-01T00:30:00+01:00|t|3", "bad-timestamp", "tilt"),
        ("t|1" + "0" * 400, "out-of-range", "tilt"),
        ("t|" + "9" * 5000, "malformed-payload", "payload"),
    ],
)
def test_a_reading_the_store_cannot_hold_is_a_400_and_stores_nothing(
    city: City, payload: str, reason: str, field: str
) -> None:
    setup_registry(city)
    device = f"auto-bad-{uuid.uuid4().hex[:8]}"
    response = measure(city, AUTO_KEY, device, payload)
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith(reason)
    assert response.json()["field"] == field
    # Refused before anything was written: not even the auto-provisioned device exists.
    missing = city.client.get(f"{BASE}/devices/{device}", headers=city.headers("admin"))
    assert missing.status_code == 404


def test_a_non_finite_json_number_is_refused_and_the_batch_keeps_the_rest(city: City) -> None:
    setup_registry(city)
    payloads = ('{"lvl": 1e400}', '{"other": 1e400}', '{"lvl": 4200}')
    results = batch(city, [{"k": JSON_KEY, "i": "bin-1", "payload": p} for p in payloads])
    assert [r["ok"] for r in results] == [False, False, True]
    assert {r["status"] for r in results[:2]} == {400}
    assert latest(city, "bin-1")["fillingLevel"]["value"] == 42


def test_ingest_counters_appear_in_metrics(city: City) -> None:
    setup_registry(city)
    measure(city, UL_KEY, "ul-1", "t|1")
    measure(city, "bad-key-xxxxxxx", "ul-1", "t|1")
    text = city.client.get("/metrics").text
    assert "cityloop_ingest_readings_total" in text
    assert 'cityloop_ingest_rejected_total{reason="invalid-api-key"}' in text


def test_a_bad_api_key_is_refused_without_waiting_for_the_database_writer(city: City) -> None:
    setup_registry(city)
    held, release = threading.Event(), threading.Event()
    released_by_the_test: list[bool] = []

    def hold_the_writer() -> None:
        # SQLite: the single writer itself. PostgreSQL: the device's row, which a write
        # transaction for this message locks before it looks at the api key.
        with city.ctx.writing() as session:
            session.execute(select(Device).where(Device.device_id == "ul-1").with_for_update())
            held.set()
            # A hang guard, not a timing threshold: False means nobody released the writer,
            # so a request that waited for it was answered only once the guard gave up.
            released_by_the_test.append(release.wait(10))

    holder = threading.Thread(target=hold_the_writer)
    holder.start()
    assert held.wait(10)
    try:
        response = measure(city, "no-such-key-123", "ul-1", "t|1")
        batch = city.client.post(
            BASE + "/measures",
            json={"measures": [{"k": "no-such-key-123", "i": "ul-1", "payload": "t|1"}]},
        )
    finally:
        release.set()
        holder.join(30)
    assert response.status_code == 401 and response.json()["field"] == "k"
    assert batch.status_code == 200 and batch.json()["results"][0]["status"] == 401
    assert released_by_the_test == [True]  # both answered while the writer was held


def readings(device: str, count: int, minute: int) -> list[dict[str, str]]:
    """``count`` timed tilt readings of one auto-provisioned device, a second apart."""
    return [
        {"k": AUTO_KEY, "i": device, "payload": f"2026-03-01T10:{minute:02d}:{n:02d}Z|t|{n}"}
        for n in range(count)
    ]


@pytest.mark.parametrize("size", [3, INLINE_MAX_ROWS + 20])
def test_a_batch_small_or_large_stores_each_reading_once_and_counts_the_resent(
    city: City, size: int
) -> None:
    setup_registry(city)
    device = f"auto-size-{uuid.uuid4().hex[:8]}"
    items = [item for minute in range(3) for item in readings(device, 60, minute)][:size]
    assert [r["stored"] for r in batch(city, items)] == [1] * size
    again = batch(city, items[:2] + readings(device, 2, 59))  # two resent, two new
    assert [(r["stored"], r["duplicates"]) for r in again] == [(0, 1), (0, 1), (1, 0), (1, 0)]
    history = measures_of(city, device, attribute="tilt", limit=1000)
    assert len(history["items"]) == size + 2
    assert latest(city, device)["tilt"]["observed_at"].startswith("2026-03-01T10:59:01")


def test_only_a_large_batch_on_postgresql_goes_through_a_staging_table(city: City) -> None:
    setup_registry(city)
    device = f"auto-stage-{uuid.uuid4().hex[:8]}"

    def staged(sent: list[str]) -> bool:
        return any("CREATE TEMP" in sql.upper() for sql in sent)

    # A transaction that touched a staging table truncates them all at its commit.
    with statements_sent(city) as small:
        batch(city, readings(device, 3, 0))
    with statements_sent(city) as large:
        batch(city, readings(device, 60, 1) + readings(device, INLINE_MAX_ROWS - 60, 2))
    # SQLite inserts straight from the driver and has no staging tables at all.
    assert (staged(small), staged(large)) == (False, city.backend == "postgresql")
