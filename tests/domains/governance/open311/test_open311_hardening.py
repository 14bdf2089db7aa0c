"""Open311 POST checks the api_key before it reads an upload, and its media URLs never trust the
request's Host header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest

from cityloop.platforms.application.media import service as media_service
from tests.support.city import City, fresh_point
from tests.support.media import jpeg_bytes

BOUNDARY = "cityloop-test-boundary"
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    return {"public_base_url": "https://reports.riverton.example/city/"}


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every photo handed to the decoder in this test."""
    calls: list[bytes] = []
    real = media_service.decode_upload

    def recording(raw: bytes, **limits: int) -> Any:
        calls.append(raw)
        return real(raw, **limits)

    monkeypatch.setattr(media_service, "decode_upload", recording)
    return calls


def multipart(fields: list[tuple[str, str]], photo: bytes, photo_first: bool = False) -> bytes:
    text = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    )
    media = (
        (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            'name="media"; filename="pothole.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + photo
        + b"\r\n"
    )
    parts = media + text if photo_first else text + media
    return parts + f"--{BOUNDARY}--\r\n".encode()


class Upload:
    """A request body sent in 64 KB chunks, counting how many the server asked for."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.chunks = -(-len(body) // CHUNK)
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), CHUNK):
            self.read += 1
            yield self.body[start : start + CHUNK]


def stream(city: City, upload: Upload, query: str = "") -> httpx.Response:
    """POST through the app chunk by chunk, as a slow client would send it."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=city.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(
                f"/open311/v2/requests.json{query}",
                content=upload,
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            )

    # On a thread of its own: this one may already run Playwright's event loop.
    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(go)


def request_fields(api_key: str | None = None) -> list[tuple[str, str]]:
    lat, lon = fresh_point()
    fields = [("service_code", "C-02-01"), ("lat", str(lat)), ("long", str(lon))]
    return [("api_key", api_key), *fields] if api_key is not None else fields


def big_photo() -> bytes:
    # A real JPEG with 2 MB of padding after it: a phone photo's size.
    return jpeg_bytes() + b"\0" * 2_000_000


def assert_403(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()[0]["code"] == 403
    assert "api_key" in response.json()[0]["description"]


def test_a_bad_api_key_before_a_photo_is_refused_without_reading_the_photo(
    city: City, decoded: list[bytes]
) -> None:
    upload = Upload(multipart(request_fields("not-a-key"), big_photo()))

    response = stream(city, upload)

    assert_403(response)
    assert upload.read == 1  # the chunk where the photo begins; the other 30 are never read
    assert upload.chunks > 30
    assert decoded == []


def test_a_bad_api_key_in_the_query_string_is_refused_before_the_body_is_read(
    city: City, decoded: list[bytes]
) -> None:
    upload = Upload(multipart(request_fields(), big_photo()))

    response = stream(city, upload, "?api_key=not-a-key")

    assert_403(response)
    assert upload.read == 0
    assert decoded == []


def test_a_bad_api_key_after_the_photo_is_refused_before_the_photo_is_decoded(
    city: City, decoded: list[bytes]
) -> None:
    upload = Upload(multipart(request_fields("not-a-key"), big_photo(), photo_first=True))

    response = stream(city, upload)

    assert_403(response)
    assert decoded == []


def test_a_good_api_key_before_a_photo_still_stores_the_report_with_it(
    city: City, decoded: list[bytes]
) -> None:
    upload = Upload(multipart(request_fields("demo"), big_photo()))

    response = stream(city, upload)

    assert response.status_code == 201, response.text
    assert upload.read == upload.chunks
    assert len(decoded) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n\r\n"),  # no boundary
        (f"multipart/form-data; boundary={BOUNDARY}", b"not multipart at all"),
        (
            f"multipart/form-data; boundary={BOUNDARY}",
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"'
            f"\r\n\r\nxx\r\n--{BOUNDARY}--\r\n".encode(),
        ),
        (
            f"multipart/form-data; boundary={BOUNDARY}",
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\n'.encode()
            + b"\xff\xfe"
            + f"\r\n--{BOUNDARY}--\r\n".encode(),
        ),
    ],
    ids=["no-boundary", "garbage", "file-in-a-text-field", "not-utf8"],
)
def test_a_malformed_multipart_body_is_a_400_error_list(
    city: City, content_type: str, body: bytes
) -> None:
    response = city.client.post(
        "/open311/v2/requests.json?api_key=demo",
        content=body,
        headers={"Content-Type": content_type},
    )

    assert response.status_code == 400, response.text
    assert response.json()[0]["code"] == 400


def test_media_urls_start_at_the_public_base_url_whatever_the_host_header(city: City) -> None:
    evil = {"Host": "evil.example"}
    lat, lon = fresh_point()
    posted = city.client.post(
        "/open311/v2/requests.json",
        data={"api_key": "demo", "service_code": "C-02-01", "lat": lat, "long": lon},
        files={"media": ("p.jpg", jpeg_bytes(color="teal"), "image/jpeg")},
        headers=evil,
    )
    assert posted.status_code == 201, posted.text
    request_id = posted.json()[0]["service_request_id"]
    base = "https://reports.riverton.example/city/api/v1/media/"

    one = city.client.get(
        f"/open311/v2/requests/{request_id}.json", params={"extensions": "true"}, headers=evil
    )
    listed = city.client.get(
        "/open311/v2/requests.json", params={"service_request_id": request_id}, headers=evil
    )
    as_xml = city.client.get(f"/open311/v2/requests/{request_id}.xml", headers=evil)

    [record] = one.json()
    assert record["media_url"].startswith(base)
    assert all(photo.startswith(base) for photo in record["extended_attributes"]["photos"])
    assert listed.json()[0]["media_url"] == record["media_url"]
    for response in (one, listed, as_xml):
        assert "evil.example" not in response.text


@pytest.mark.parametrize("value", ["evil.example", "ftp://files.example", "https://"])
def test_the_public_base_url_must_be_an_http_url(value: str) -> None:
    from pydantic import ValidationError

    from cityloop.settings import Settings

    with pytest.raises(ValidationError, match="public_base_url"):
        Settings(public_base_url=value)
