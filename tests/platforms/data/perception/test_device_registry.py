"""The device registry: profiles, provisioning groups, devices and bulk CSV import."""

from __future__ import annotations

from typing import Any

from cityloop.platforms.data.perception import service
from tests.support.city import City
from tests.support.perception import BASE, post

APIKEY = "manhole-key-0001"


def ensure_group(city: City) -> dict[str, Any]:
    groups = city.client.get(BASE + "/groups", headers=city.headers("admin")).json()
    for group in groups:
        if group["apikey"] == APIKEY:
            return dict(group)
    if not any(
        p["code"] == "manhole-tilt"
        for p in city.client.get(BASE + "/profiles", headers=city.headers("admin")).json()
    ):
        post(
            city,
            "/profiles",
            {
                "code": "manhole-tilt",
                "name": "Manhole cover tilt sensor",
                "entity_type": "ManholeCover",
                "codec": "ul",
                "codec_config": {
                    "mappings": [
                        {"object_id": "t", "name": "tilt", "type": "Number", "unit": "DD"},
                        {
                            "object_id": "b",
                            "name": "battery",
                            "type": "Number",
                            "expression": "value / 100",
                        },
                    ]
                },
            },
        )
    return post(
        city, "/groups", {"apikey": APIKEY, "profile_code": "manhole-tilt", "name": "Manholes"}
    )


def test_a_profile_group_and_device_are_created_and_read_back(city: City) -> None:
    group = ensure_group(city)
    assert group["resource"] == "/iot/d"
    profile = city.client.get(BASE + "/profiles/manhole-tilt", headers=city.headers("admin"))
    assert profile.status_code == 200
    assert profile.json()["codec"] == "ul"
    assert profile.json()["codec_config"]["mappings"][0]["name"] == "tilt"

    created = post(
        city,
        "/devices",
        {
            "device_id": "mh-001",
            "group_id": group["id"],
            "name": "Gate 1",
            "lat": 31.2,
            "lon": 121.5,
        },
    )
    assert created["entity_id"] == "urn:ngsi-ld:ManholeCover:mh-001"
    assert created["profile_code"] == "manhole-tilt"
    read = city.client.get(BASE + "/devices/mh-001", headers=city.headers("admin")).json()
    assert read["name"] == "Gate 1"
    assert (read["lat"], read["lon"]) == (31.2, 121.5)
    listed = city.client.get(BASE + "/devices", headers=city.headers("admin")).json()
    assert "mh-001" in [d["device_id"] for d in listed["items"]]


def test_a_device_can_be_deleted(city: City) -> None:
    ensure_group(city)
    post(city, "/devices", {"device_id": "mh-gone", "apikey": APIKEY})
    response = city.client.delete(BASE + "/devices/mh-gone", headers=city.headers("admin"))
    assert response.status_code == 204
    missing = city.client.get(BASE + "/devices/mh-gone", headers=city.headers("admin"))
    assert missing.status_code == 404


def test_an_unknown_codec_is_refused_naming_the_codec_field(city: City) -> None:
    problem = post(
        city,
        "/profiles",
        {"code": "x1", "name": "X", "entity_type": "Thing", "codec": "nope"},
        expect=400,
    )
    assert problem["field"] == "codec"
    # A codec's refusal is a message code, read in the reader's language.
    assert problem["code"] == "perception.codec.unknown"
    chinese = city.client.post(
        BASE + "/profiles",
        json={"code": "x1", "name": "X", "entity_type": "Thing", "codec": "nope"},
        headers={**city.headers("admin"), "Accept-Language": "zh-CN"},
    )
    assert chinese.json()["detail"] == "未安装名为 'nope' 的编解码器"


def test_a_mapping_with_an_unsafe_expression_is_refused(city: City) -> None:
    problem = post(
        city,
        "/profiles",
        {
            "code": "x2",
            "name": "X",
            "entity_type": "Thing",
            "codec": "json",
            "codec_config": {
                "mappings": [
                    {
                        "object_id": "a",
                        "name": "a",
                        "type": "Number",
                        "expression": "__import__('os').system('true')",
                    }
                ]
            },
        },
        expect=400,
    )
    assert problem["field"] == "codec_config.mappings"
    assert problem["code"] == "perception.expr.functions"


def test_a_duplicate_device_is_a_conflict(city: City) -> None:
    ensure_group(city)
    post(city, "/devices", {"device_id": "mh-dup", "apikey": APIKEY})
    problem = post(city, "/devices", {"device_id": "mh-dup", "apikey": APIKEY}, expect=409)
    assert problem["status"] == 409


def test_only_an_administrator_manages_devices(city: City) -> None:
    for user in ("dispatcher", "citizen"):
        response = city.client.get(BASE + "/devices", headers=city.headers(user))
        assert response.status_code == 403
    assert city.client.get(BASE + "/devices").status_code == 401


def test_a_csv_import_keeps_the_good_rows_and_reports_each_bad_row(city: City) -> None:
    ensure_group(city)
    lines = ["device_id,apikey,name,lat,lon"]
    for n in range(1000):
        lines.append(f"csv-{n:04d},{APIKEY},Cover {n},31.{n:04d},121.5")
    # Line numbers count the header as line 1, so row n sits on line n + 2.
    lines[11] = "csv-0010,wrong-apikey-123,Cover 10,31.1,121.5"  # line 12
    lines[501] = f"bad device id!,{APIKEY},Cover 500,31.1,121.5"  # line 502
    lines[901] = f"csv-0900,{APIKEY},Cover 900,north,121.5"  # line 902
    response = city.client.post(
        BASE + "/devices/import",
        content="\n".join(lines) + "\n",
        headers={**city.headers("admin"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["created"] == 997
    assert [(e["row"], e["field"]) for e in answer["errors"]] == [
        (12, "apikey"),
        (502, "device_id"),
        (902, "lat"),
    ]
    for device_id in ("csv-0000", "csv-0499", "csv-0999"):
        found = city.client.get(BASE + f"/devices/{device_id}", headers=city.headers("admin"))
        assert found.status_code == 200
    for device_id in ("csv-0010", "csv-0900"):
        found = city.client.get(BASE + f"/devices/{device_id}", headers=city.headers("admin"))
        assert found.status_code == 404
    with city.ctx.reading() as session:
        _, total = service.list_devices(session, limit=1)
    assert total >= 997


def test_a_csv_import_also_takes_a_multipart_file(city: City) -> None:
    ensure_group(city)
    body = f"device_id,apikey,name,lat,lon\nmp-1,{APIKEY},One,,\n"
    response = city.client.post(
        BASE + "/devices/import",
        files={"file": ("devices.csv", body.encode(), "text/csv")},
        headers=city.headers("admin"),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "errors": []}


def test_an_import_row_error_reads_in_the_readers_language(city: City) -> None:
    ensure_group(city)
    body = f"device_id,apikey,name,lat,lon\nzh-1,{APIKEY},One\nzh-2,wrong-apikey-123,Two,,\n"
    errors = {}
    for language in ("en", "zh-CN"):
        response = city.client.post(
            BASE + "/devices/import",
            content=body.encode(),
            headers={
                **city.headers("admin"),
                "Content-Type": "text/csv",
                "Accept-Language": language,
            },
        )
        assert response.status_code == 200, response.text
        errors[language] = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors["zh-CN"]] == [(2, "row"), (3, "apikey")]
    assert errors["en"][0]["message"] == "expected 5 values, got 3"
    assert errors["zh-CN"][0]["message"] == "应有 5 个值，实际为 3 个"
    assert errors["zh-CN"][1]["message"] != errors["en"][1]["message"]


def test_a_garbled_csv_is_refused(city: City) -> None:
    for body in (b"", b"\x89PNG\r\n\x1a\n\x00\x00binary", b"this is not,a device list\n1,2\n"):
        response = city.client.post(
            BASE + "/devices/import",
            content=body,
            headers={**city.headers("admin"), "Content-Type": "text/csv"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "file"


def test_names_and_api_keys_longer_than_the_store_holds_are_400s(city: City) -> None:
    admin = city.headers("admin")
    too_long_key = city.client.post(
        BASE + "/groups", json={"apikey": "k" * 101, "profile_code": "x"}, headers=admin
    )
    assert too_long_key.status_code in (400, 422), too_long_key.text
    rows = "device_id,apikey,name\nlong-name-1,riverton-manholes," + "n" * 201 + "\n"
    imported = city.client.post(
        BASE + "/devices/import",
        content=rows.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["errors"][0]["row"] == 2
    assert imported.json()["errors"][0]["field"] == "name"
    since = city.client.get(
        BASE + "/devices/none/measures",
        params={"since": "0001-01-01T00:00:00+05:00"},
        headers=admin,
    )
    assert since.status_code == 400, since.text
