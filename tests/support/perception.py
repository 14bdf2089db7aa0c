"""Devices in tests: profiles, provisioning groups and devices made through the API (or the
service functions), readings sent as a device sends them, and the alarm rules on them."""

from __future__ import annotations

import struct
import uuid
from typing import Any

from sqlalchemy.orm import Session

from cityloop.demo.alarm_rules import demo_rules
from cityloop.platforms.data.perception import service
from cityloop.platforms.data.perception.mqtt import MqttIngest
from tests.support.city import City, fresh_point

BASE = "/api/v1/perception"
# An UltraLight thermometer: "t|21.5" is a temperature.
THERMOMETER_CONFIG: dict[str, Any] = {
    "mappings": [{"object_id": "t", "name": "temperature", "type": "Number"}]
}
# A vendor manhole cover sensor's binary uplink (see manhole_payload).
MANHOLE_CONFIG: dict[str, Any] = {
    "encoding": "hex",
    "layout": [
        {"name": "open", "offset": 0, "type": "u8", "bits": [0, 1]},
        {"name": "tilt", "offset": 1, "type": "i16", "scale": 0.1, "unit": "DD"},
        {"name": "batteryLevel", "offset": 3, "type": "u8", "scale": 0.01},
    ],
    "mappings": [{"object_id": "open", "name": "open", "type": "Boolean"}],
}


def post(city: City, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    """POST ``body`` to the perception API as the admin; the answer must have ``expect``."""
    response = city.client.post(BASE + path, json=body, headers=city.headers("admin"))
    assert response.status_code == expect, response.text
    return dict(response.json())


def provision(
    city: City, prefix: str, name: str, entity_type: str, codec: str, config: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """A fresh profile (its code starts with ``prefix``) and provisioning group with a unique api
    key: (profile code, api key, the group as the API answered)."""
    suffix = uuid.uuid4().hex[:10]
    code = f"{prefix}-{suffix}"
    profile = {
        "code": code,
        "name": name,
        "entity_type": entity_type,
        "codec": codec,
        "codec_config": config,
    }
    post(city, "/profiles", profile)
    apikey = f"key{suffix}"
    group = post(city, "/groups", {"apikey": apikey, "profile_code": code})
    return code, apikey, group


def fleet(
    city: City, codec: str = "ul", config: dict[str, Any] | None = None, entity_type: str = "Thing"
) -> tuple[str, str]:
    """A fresh profile and provisioning group: (profile code, api key)."""
    code, apikey, _ = provision(
        city, f"t-{codec}", "test sensors", entity_type, codec, config or {}
    )
    return code, apikey


def add_device(city: City, apikey: str, point: tuple[float, float] | None = None) -> str:
    """A device of the group with ``apikey`` at ``point`` (a fresh one by default)."""
    lat, lon = point or fresh_point()
    device_id = f"dev-{uuid.uuid4().hex[:10]}"
    post(city, "/devices", {"device_id": device_id, "apikey": apikey, "lat": lat, "lon": lon})
    return device_id


def send(city: City, apikey: str, device_id: str, payload: str) -> None:
    """One reading over HTTP, as the device sends it (the IoT Agent's /iot/d)."""
    response = city.client.post(
        "/iot/d", params={"k": apikey, "i": device_id}, content=payload.encode()
    )
    assert response.status_code == 200, response.text


def batch(city: City, measures: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Send ``measures`` (``k``, ``i``, ``payload`` each) as one JSON batch; the answer's result
    for each."""
    response = city.client.post(BASE + "/measures", json={"measures": measures})
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def measures_of(city: City, device: str, **params: Any) -> dict[str, Any]:
    """A device's stored readings as the history route answers (``items``), read as the admin."""
    response = city.client.get(
        f"{BASE}/devices/{device}/measures", params=params, headers=city.headers("admin")
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def setup_device(city: City) -> tuple[str, str]:
    """A fresh UltraLight profile, group (unique api key) and device; returns (apikey, device)."""
    _, apikey, group = provision(
        city, "mqtt-ul", "MQTT thermometer", "WeatherObserved", "ul", THERMOMETER_CONFIG
    )
    device = f"thermo-{uuid.uuid4().hex[:10]}"
    post(city, "/devices", {"device_id": device, "group_id": group["id"]})
    return apikey, device


def make_device(session: Session) -> tuple[str, str]:
    """A thermometer made with the service functions, in ``session``: (apikey, device id)."""
    suffix = uuid.uuid4().hex[:10]
    profile = service.create_profile(
        session,
        code=f"restart-{suffix}",
        name="Restart thermometer",
        entity_type="WeatherObserved",
        codec="ul",
        codec_config=THERMOMETER_CONFIG,
    )
    group = service.create_group(session, apikey=f"restart{suffix}", profile_code=profile.code)
    device = service.create_device(session, device_id=f"restart-{suffix}", group=group)
    return group.apikey, device.device_id


def ingest_of(city: City) -> MqttIngest:
    """The city's MQTT subscriber, once it has subscribed."""
    ingest = city.ctx.extras["mqtt"]
    assert isinstance(ingest, MqttIngest)
    assert ingest.ready.wait(10), "the subscriber never finished subscribing"
    return ingest


def manhole_payload(is_open: bool, tilt: float = 0.0, battery: float = 0.9) -> str:
    """The vendor's 4-byte uplink: flags (bit 0 = open), tilt × 10, battery %."""
    return struct.pack(">BhB", int(is_open), round(tilt * 10), round(battery * 100)).hex()


def alarm_rule(kind: str, alarm_type: str, severity: str, **definition: Any) -> dict[str, Any]:
    """A rule's body: of ``kind`` with ``definition``, raising ``alarm_type`` at ``severity``."""
    return {"kind": kind, "definition": definition, "alarm_type": alarm_type, "severity": severity}


def add_rule(city: City, profile: str, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "test rule")
    return post(city, "/rules", {"profile_code": profile, **body})


def watched_device(
    city: City, rule: dict[str, Any], *fleet_options: Any, **fleet_keywords: Any
) -> tuple[str, str, str]:
    """A device of a fresh fleet (``fleet``'s options) whose profile has ``rule``: (profile
    code, api key, device id)."""
    profile, apikey = fleet(city, *fleet_options, **fleet_keywords)
    add_rule(city, profile, **rule)
    return profile, apikey, add_device(city, apikey)


def demo_rule(alarm_type: str, profile: str) -> dict[str, Any]:
    """The demo city's rule for ``alarm_type``, on ``profile`` instead of the demo's."""
    [data] = [d for d in demo_rules() if d.alarm_type == alarm_type][:1]
    return {
        "name": data.name,
        "profile_code": profile,
        "kind": data.kind,
        "definition": data.definition,
        "alarm_type": data.alarm_type,
        "severity": data.severity,
        "category_code": data.category_code,
        "case_attributes": data.case_attributes,
    }


def alarms_of(city: City, device_id: str, **params: Any) -> list[dict[str, Any]]:
    response = city.client.get(
        BASE + "/alarms", params={"originator": device_id, **params}, headers=city.headers("admin")
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])
