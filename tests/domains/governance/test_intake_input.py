# ruff: noqa: E501  (the bad-input table reads best one case per line)
"""Intake: duplicates, idempotency, rate limits, and a clear 4xx for every kind of bad input."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from cityloop.domains.governance.models import Case, Report
from tests.support.city import City, fresh_point, make_city
from tests.support.media import jpeg_bytes


def counts(city: City) -> tuple[int, int]:
    with city.ctx.reading() as session:
        return (
            session.scalar(select(func.count()).select_from(Case)) or 0,
            session.scalar(select(func.count()).select_from(Report)) or 0,
        )


IN_CITY = {"lat": 30.25, "lon": 120.15}


def post_report(city: City, **body: object) -> tuple[int, dict[str, object]]:
    response = city.client.post("/api/v1/reports", json=body)
    return response.status_code, response.json()


def test_a_report_within_the_radius_joins_the_open_case(city: City) -> None:
    lat, lon = fresh_point()
    first = city.report(category="C-02-01", lat=lat, lon=lon)
    # ~22 m north: inside the pothole radius (50 m).
    near = city.report(category="C-02-01", lat=lat + 0.0002, lon=lon)
    assert near["joined_existing"] is True and near["case_id"] == first["case_id"]
    assert "already reported" in str(near["message"])
    assert city.case(first["case_id"])["supporters"] == 1


def test_a_report_beyond_the_radius_or_of_another_category_opens_a_case(city: City) -> None:
    lat, lon = fresh_point()
    first = city.report(category="C-02-01", lat=lat, lon=lon)
    # The middle of the fresh-point lattice's cell: ~88 m from this point and from the cell's
    # other corners, so no later fresh point lands within the 50 m radius of this case.
    far = city.report(category="C-02-01", lat=lat + 0.0006, lon=lon + 0.0006)
    other = city.report(category="E-02-01", lat=lat, lon=lon)
    assert far["case_id"] != first["case_id"]
    assert other["case_id"] != first["case_id"]


def test_a_closed_case_does_not_absorb_new_reports(city: City) -> None:
    lat, lon = fresh_point()
    first = city.report(category="C-02-01", lat=lat, lon=lon)
    city.act(first["case_id"], "dispatcher", action="reject", note="Private car park")
    again = city.report(category="C-02-01", lat=lat, lon=lon)
    assert again["case_id"] != first["case_id"]


def test_a_retried_submission_with_the_same_key_returns_the_first_answer(city: City) -> None:
    lat, lon = fresh_point()
    body = {"category": "C-02-01", "lat": lat, "lon": lon, "description": "offline retry"}
    headers = {"Idempotency-Key": "phone-42-report-7"}
    before = counts(city)
    first = city.client.post("/api/v1/reports", json=body, headers=headers)
    second = city.client.post("/api/v1/reports", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert counts(city) == (before[0] + 1, before[1] + 1)
    changed = city.client.post(
        "/api/v1/reports", json={**body, "description": "other"}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"category": "C-02-01", "lat": 10.0, "lon": 10.0}, "lat", 400),
        ({"category": "NOPE", "lat": 30.25, "lon": 120.15}, "category", 400),
        ({"category": "C-02-01"}, "lat", 400),
        ({"category": "C-02-01", "lat": 30.25}, "lat", 400),
        ({"category": "C-02-01", "lat": 95.0, "lon": 120.15}, "lat", 422),
        ({"category": "C-02-01", "address": "Nowhere Lane"}, "address_string", 400),
        ({"category": "C-02-01", "lat": "north", "lon": 120.15}, "lat", 422),
        ({"category": "C-01-01", **IN_CITY}, "attribute[cover_state]", 400),
        ({"category": "C-01-01", "attributes": {"cover_state": "stolen"}, **IN_CITY}, "attribute[cover_state]", 400),
        ({"category": "C-02-01", "attributes": {"colour": "red"}, **IN_CITY}, "attribute[colour]", 400),
        ({"category": "C-02-01", "attributes": {"depth_cm": 10**400}, **IN_CITY}, "attribute[depth_cm]", 400),
        ({"category": "C-02-01", "attributes": {"depth_cm": "NaN"}, **IN_CITY}, "attribute[depth_cm]", 400),
        ({"category": "C-02-01", "attributes": {"depth_cm": "-inf"}, **IN_CITY}, "attribute[depth_cm]", 400),
        ({"category": "C-02-01", "attributes": {"depth_cm": True}, **IN_CITY}, "attribute[depth_cm]", 400),
        ({"category": "C-02-01", "media": ["0" * 32], **IN_CITY}, "media", 400),
        ({"category": "C-02-01", "description": "x" * 4001, **IN_CITY}, "description", 422),
        ({"category": "C-02-01", **IN_CITY, "surprise": 1}, "surprise", 422),
        ({"category": "C-02-01", **IN_CITY, "contact_email": "nope"}, "contact_email", 422),
    ],
)  # fmt: skip
def test_bad_report_input_gets_a_4xx_naming_the_field_and_writes_nothing(
    city: City, body: dict[str, object], field: str, status: int
) -> None:
    before = counts(city)
    code, problem = post_report(city, **body)
    assert code == status, problem
    assert problem["field"] == field
    assert problem["detail"]
    assert counts(city) == before


def test_malformed_json_is_a_422_not_a_500(city: City) -> None:
    response = city.client.post(
        "/api/v1/reports", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def _png(size: tuple[int, int], mode: str = "1") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("payload", "status", "slug"),
    [
        (b"%PDF-1.4 not an image at all", 415, "media-not-an-image"),
        (jpeg_bytes((400, 300))[:600], 422, "media-truncated"),
        (_png((30_000, 30_000)), 422, "media-too-many-pixels"),
        (b"", 422, "media-empty"),
    ],
    ids=["non-image", "truncated-jpeg", "decompression-bomb", "empty"],
)
def test_bad_uploads_are_refused_with_a_clear_4xx(
    city: City, payload: bytes, status: int, slug: str
) -> None:
    response = city.client.post("/api/v1/media", files={"file": ("x.jpg", payload, "image/jpeg")})
    assert response.status_code == status, response.text
    assert response.json()["type"].endswith(slug)
    assert response.json()["field"] == "file"


def test_an_upload_over_the_byte_cap_is_a_413(city: City) -> None:
    big = b"\xff\xd8" + b"0" * (city.ctx.settings.media_max_bytes + 10)
    response = city.client.post("/api/v1/media", files={"file": ("x.jpg", big, "image/jpeg")})
    assert response.status_code == 413


def test_an_upload_loses_its_exif_and_gets_a_thumbnail(city: City) -> None:
    image = Image.new("RGB", (800, 600), "blue")
    exif = Image.Exif()
    exif[0x0110] = "SecretPhone 9"  # camera model
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    media_id = city.upload(buffer.getvalue())
    stored = city.client.get(f"/api/v1/media/{media_id}").content
    assert b"SecretPhone" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()
    thumb = Image.open(io.BytesIO(city.client.get(f"/api/v1/media/{media_id}/thumbnail").content))
    assert max(thumb.size) <= 320


def test_a_missing_file_field_is_a_400(city: City) -> None:
    response = city.client.post("/api/v1/media", data={"other": "x"})
    assert response.status_code == 400
    assert response.json()["field"] == "file"


def test_login_with_a_wrong_password_is_a_401(city: City) -> None:
    response = city.client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": "wrong"}
    )
    assert response.status_code == 401
    assert (
        city.client.get("/api/v1/cases", headers={"Authorization": "Bearer junk"}).status_code
        == 401
    )
    assert city.client.get("/api/v1/cases").status_code == 401


def test_citizens_cannot_use_the_staff_api(city: City) -> None:
    assert city.client.get("/api/v1/cases", headers=city.headers("citizen")).status_code == 403


def test_bad_list_filters_are_4xx(city: City) -> None:
    headers = city.headers("dispatcher")
    assert city.client.get("/api/v1/cases?status=bogus", headers=headers).status_code == 400
    assert city.client.get("/api/v1/cases?sort=bogus", headers=headers).status_code == 400
    assert city.client.get("/api/v1/cases?page=0", headers=headers).status_code == 422
    assert city.client.get("/api/v1/cases/abc", headers=headers).status_code == 422
    assert city.client.get("/api/v1/cases/999999", headers=headers).status_code == 404


def test_an_unknown_action_is_a_400_naming_it(city: City) -> None:
    lat, lon = fresh_point()
    case_id = city.report(category="C-02-01", lat=lat, lon=lon)["case_id"]
    problem = city.act(case_id, "dispatcher", expect=400, action="teleport")
    assert problem["field"] == "action"


@pytest.fixture(scope="module")
def limited_city(
    templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    yield from make_city(
        templates, "sqlite", Path(tmp_path_factory.mktemp("limited")), intake_rate_limit=3
    )


def test_public_intake_over_the_rate_limit_is_a_429_with_retry_after(limited_city: City) -> None:
    codes = []
    for _ in range(4):
        lat, lon = fresh_point()
        response = limited_city.client.post(
            "/api/v1/reports", json={"category": "C-02-01", "lat": lat, "lon": lon}
        )
        codes.append(response.status_code)
    assert codes == [201, 201, 201, 429]
    assert int(response.headers["Retry-After"]) >= 1
    # Staff channels are not throttled: a hotline operator takes calls all day.
    lat, lon = fresh_point()
    limited_city.report(username="hotline", category="C-02-01", lat=lat, lon=lon)


def test_metrics_are_exposed_in_prometheus_format(city: City) -> None:
    lat, lon = fresh_point()
    city.report(category="C-02-01", lat=lat, lon=lon)
    text = city.client.get("/metrics").text
    assert "# TYPE cityloop_http_requests_total counter" in text
    assert 'cityloop_cases{status="' in text
    assert "cityloop_reports_total" in text


def test_nearby_lists_open_cases_of_the_category_including_new_ones(city: City) -> None:
    lat, lon = fresh_point()
    answer = city.report(category="C-02-01", lat=lat, lon=lon, media=[city.upload()])
    near = city.client.get(
        "/api/v1/public/nearby", params={"category": "C-02-01", "lat": lat + 0.0006, "lon": lon}
    ).json()
    match = [n for n in near if n["id"] == answer["case_id"]]
    assert match and match[0]["status"] == "submitted"
    assert match[0]["joins_automatically"] is False  # ~67 m: beyond the 50 m pothole radius
    assert match[0]["photo"]
    assert "contact" not in str(near)
    bad = city.client.get(
        "/api/v1/public/nearby", params={"category": "NOPE", "lat": lat, "lon": lon}
    )
    assert bad.status_code == 400


def test_an_unknown_tracking_token_is_a_404_that_says_so(city: City) -> None:
    for path in ("/api/v1/track/nope", "/api/v1/track/nope/notifications"):
        response = city.client.get(path)
        assert response.status_code == 404
        assert response.json()["detail"] == "no report has this tracking token"


def test_only_staff_set_a_reports_priority(city: City) -> None:
    lat, lon = fresh_point()
    public = city.report(category="C-02-01", lat=lat, lon=lon, priority="urgent")
    assert city.case(public["case_id"])["priority"] == "normal"
    lat, lon = fresh_point()
    staff = city.report(username="hotline", category="C-02-01", lat=lat, lon=lon, priority="urgent")
    assert city.case(staff["case_id"])["priority"] == "urgent"
