"""A city whose media live on S3-compatible storage: a citizen's photo goes to the bucket, is
served by a redirect to a signed URL, and a storage that is down answers 503, never 500, and
leaves no half-recorded photo."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from cityloop.base.storage_s3 import s3_storage
from cityloop.platforms.application.media.models import Media
from tests.support.city import City, fresh_point
from tests.support.media import jpeg_bytes
from tests.support.s3 import S3Server, aws_credentials, s3_server
from tests.support.servers import free_port

PRESIGN_SECONDS = 120


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with aws_credentials(), s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="module")
def bucket(s3: S3Server, engine: str) -> str:
    return s3.new_bucket()


@pytest.fixture(scope="module")
def city_overrides(s3: S3Server, bucket: str) -> dict[str, Any]:
    return {
        "storage_url": s3.url(bucket, "city", timeout="2", attempts="2"),
        "storage_presign_seconds": PRESIGN_SECONDS,
    }


def media_rows(city: City) -> int:
    with city.ctx.reading() as session:
        return int(session.scalar(select(func.count()).select_from(Media)) or 0)


def test_a_reported_photo_is_stored_in_the_bucket_and_served_by_a_signed_url(
    city: City, s3: S3Server, bucket: str
) -> None:
    lat, lon = fresh_point()
    photo = city.upload(jpeg_bytes((80, 60), "teal"))
    answer = city.report(category="C-01-01", lat=lat, lon=lon, media=[photo],
                         attributes={"cover_state": "missing"},
                         description="Cover missing by the school gate")  # fmt: skip
    assert city.case(answer["case_id"])["photos"]["before"] == [photo]

    keys = {o["Key"] for o in s3.client.list_objects_v2(Bucket=bucket, Prefix="city/media/")
            .get("Contents", [])}  # fmt: skip
    assert f"city/media/{photo[:2]}/{photo}.jpg" in keys
    assert f"city/media/{photo[:2]}/{photo}.thumb.jpg" in keys

    served = city.client.get(f"/api/v1/media/{photo}", follow_redirects=False)
    assert served.status_code == 307
    assert served.headers["cache-control"] == f"public, max-age={PRESIGN_SECONDS // 2}"
    location = served.headers["location"]
    assert location.startswith(f"{s3.endpoint}/{bucket}/city/media/")
    assert f"X-Amz-Expires={PRESIGN_SECONDS}" in location

    fetched = httpx.get(location)  # as a browser follows the redirect: no credentials
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == f'inline; filename="{photo}.jpg"'
    assert fetched.headers["cache-control"] == "public, max-age=31536000, immutable"
    with Image.open(io.BytesIO(fetched.content)) as image:
        assert image.size == (80, 60)


def test_a_thumbnail_is_served_from_the_bucket_too(city: City) -> None:
    photo = city.upload(jpeg_bytes((1600, 1200)))
    served = city.client.get(f"/api/v1/media/{photo}/thumbnail", follow_redirects=False)
    assert served.status_code == 307
    fetched = httpx.get(served.headers["location"])
    assert fetched.status_code == 200
    assert fetched.headers["content-disposition"] == f'inline; filename="{photo}.thumb.jpg"'
    with Image.open(io.BytesIO(fetched.content)) as image:
        assert max(image.size) < 1600


def test_the_pages_allow_images_from_the_storage_the_photos_redirect_to(
    city: City, s3: S3Server
) -> None:
    policy = city.client.get("/").headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert s3.endpoint in directives["img-src"]
    # The citizen app's service worker fetches photos and follows the redirect.
    assert s3.endpoint in directives["connect-src"]


def test_an_upload_while_the_storage_is_down_is_a_503_and_records_nothing(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = media_rows(city)
    down = s3_storage(f"s3://media/?endpoint=http://127.0.0.1:{free_port()}&attempts=2&timeout=2")
    monkeypatch.setattr(city.ctx, "storage", down)

    answer = city.client.post(
        "/api/v1/media",
        files={"file": ("photo.jpg", jpeg_bytes(), "image/jpeg")},
        headers={"Accept-Language": "zh-CN"},
    )

    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "30"
    problem = answer.json()
    assert problem["type"].endswith("/storage-unavailable")
    assert problem["code"] == "storage_unavailable"
    assert "文件存储暂时无法访问" in problem["detail"]
    assert "127.0.0.1" not in answer.text  # where the store lives is for the server's log
    assert media_rows(city) == before


def test_a_photo_served_through_the_app_while_the_storage_is_down_is_a_503(
    city: City, s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = city.upload()
    # The same bucket, set to serve bytes through the app; then the server goes away.
    monkeypatch.setattr(city.ctx, "storage", s3_storage(s3.url(bucket, "city", presign="false")))
    assert city.client.get(f"/api/v1/media/{photo}").status_code == 200

    down = s3_storage(f"s3://{bucket}/city?endpoint=http://127.0.0.1:{free_port()}"
                      "&attempts=1&timeout=2&presign=false")  # fmt: skip
    monkeypatch.setattr(city.ctx, "storage", down)
    answer = city.client.get(f"/api/v1/media/{photo}")

    assert answer.status_code == 503
    assert answer.json()["code"] == "storage_unavailable"


def test_an_open311_post_with_a_photo_while_the_storage_is_down_is_a_503_and_opens_nothing(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = media_rows(city)
    down = s3_storage(f"s3://media/?endpoint=http://127.0.0.1:{free_port()}&attempts=1&timeout=2")
    monkeypatch.setattr(city.ctx, "storage", down)
    lat, lon = fresh_point()

    answer = city.client.post(
        "/open311/v2/requests.json",
        data={"api_key": "demo", "service_code": "C-02-01", "lat": str(lat), "long": str(lon),
              "description": "pothole, with a photo"},
        files={"media": ("pothole.jpg", jpeg_bytes(color="navy"), "image/jpeg")},
    )  # fmt: skip

    assert answer.status_code == 503, answer.text
    assert answer.json()[0]["code"] == 503  # Open311's own error list
    assert media_rows(city) == before
    listed = city.client.get("/open311/v2/requests.json", params={"lat": lat, "long": lon})
    assert all(r.get("description") != "pothole, with a photo" for r in listed.json())
