"""Over-size request bodies get 413 before they are read, in each API's own error format; a body
just under its route's limit is served as before."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cityloop.domains.governance.models import Report
from tests.support.city import City, fresh_point
from tests.support.media import jpeg_bytes
from tests.support.ngsild import use_ngsild_key

DEFAULT_LIMIT = 50_000
NGSILD_LIMIT = 20_000
MEDIA_LIMIT = 100_000


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    # Small limits, so that the tests send small bodies.
    return {
        "max_body_bytes": DEFAULT_LIMIT,
        "ngsild_max_body_bytes": NGSILD_LIMIT,
        "media_max_bytes": MEDIA_LIMIT,
    }


def reports(city: City) -> int:
    with city.ctx.reading() as session:
        return session.scalar(select(func.count()).select_from(Report)) or 0


def report_body(size: int) -> bytes:
    """A valid report, padded with JSON whitespace to exactly ``size`` bytes."""
    lat, lon = fresh_point()
    body = json.dumps({"category": "C-02-01", "lat": lat, "lon": lon, "description": "pad"})
    return body.encode() + b" " * (size - len(body))


def chunked(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """A body without a length: httpx sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def assert_problem_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/payload-too-large")


def test_a_json_body_over_the_default_limit_is_413_and_nothing_is_stored(city: City) -> None:
    before = reports(city)

    response = city.client.post(
        "/api/v1/reports",
        content=report_body(DEFAULT_LIMIT + 1),
        headers={"Content-Type": "application/json"},
    )

    assert_problem_413(response)
    assert str(DEFAULT_LIMIT) in response.json()["detail"]
    assert reports(city) == before


def test_a_chunked_json_body_over_the_default_limit_is_413(city: City) -> None:
    before = reports(city)

    response = city.client.post(
        "/api/v1/reports",
        content=chunked(report_body(DEFAULT_LIMIT + 1)),
        headers={"Content-Type": "application/json"},
    )

    assert_problem_413(response)
    assert reports(city) == before


@pytest.mark.parametrize("send", [bytes, chunked], ids=["with-length", "chunked"])
def test_a_json_body_just_under_the_limit_is_served(city: City, send: Any) -> None:
    response = city.client.post(
        "/api/v1/reports",
        content=send(report_body(DEFAULT_LIMIT)),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text


def test_an_upload_may_be_larger_than_the_default_limit_but_not_the_media_one(
    city: City,
) -> None:
    photo = jpeg_bytes()
    # A JPEG with trailing bytes still decodes: make it larger than the JSON limit.
    padded = photo + b"\0" * (DEFAULT_LIMIT * 3 // 2)
    assert len(padded) < MEDIA_LIMIT
    served = city.client.post("/api/v1/media", files={"file": ("p.jpg", padded, "image/jpeg")})
    assert served.status_code == 201, served.text

    too_big = photo + b"\0" * (MEDIA_LIMIT + 100_000)
    refused = city.client.post("/api/v1/media", files={"file": ("p.jpg", too_big, "image/jpeg")})
    assert_problem_413(refused)


@pytest.mark.parametrize("send", [bytes, chunked], ids=["with-length", "chunked"])
def test_open311_answers_413_as_its_own_error_list(city: City, send: Any) -> None:
    form = b"api_key=demo&service_code=C-02-01&description=" + b"x" * 70_000
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    as_json = city.client.post("/open311/v2/requests.json", content=send(form), headers=headers)
    as_xml = city.client.post("/open311/v2/requests.xml", content=send(form), headers=headers)

    assert as_json.status_code == 413
    assert as_json.json() == [{"code": 413, "description": as_json.json()[0]["description"]}]
    assert as_xml.status_code == 413
    assert ET.fromstring(as_xml.content).findtext("error/code") == "413"


def test_ngsild_answers_413_as_payload_too_large_problem_details(city: City) -> None:
    use_ngsild_key(city)
    entity = {
        "id": "urn:ngsi-ld:WasteContainer:big",
        "type": "WasteContainer",
        "note": {"type": "Property", "value": "x" * NGSILD_LIMIT},
    }

    response = city.client.post(
        "/ngsi-ld/v1/entities",
        content=json.dumps(entity).encode(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413, response.text
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/PayloadTooLarge"


def test_ngsild_refuses_a_chunked_body_with_411_before_reading_it(city: City) -> None:
    """NGSI-LD clause 6.3.4: a body without Content-Length is 411 Length Required, so a chunked
    body of any size is refused before a byte of it is read."""
    use_ngsild_key(city)
    entity = {"id": "urn:ngsi-ld:WasteContainer:big", "type": "WasteContainer"}
    entity["note"] = {"type": "Property", "value": "x" * NGSILD_LIMIT}

    response = city.client.post(
        "/ngsi-ld/v1/entities",
        content=chunked(json.dumps(entity).encode()),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 411
    assert city.client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:big").status_code == 404
