"""Photo uploads cannot exhaust the server's memory: the pixel cap is checked on the header before
any decoding, and only a few photos decode at once."""

from __future__ import annotations

import threading
import zlib
from typing import Any

import anyio
import anyio.from_thread
import pytest
from PIL import PngImagePlugin

from cityloop.platforms.application.media import service
from cityloop.platforms.application.media.imaging import ProcessedImage
from cityloop.platforms.application.media.views import decode_photo
from tests.support.city import City
from tests.support.media import flat_png, jpeg_bytes, png_chunk, png_header


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    # One decode slot, so that a second photo has to wait for the first.
    return {"media_decode_slots": 1}


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims the size but whose pixel data is cut short."""

    return png_header(width, height) + png_chunk(b"IDAT", zlib.compress(b"\0"))


def test_a_small_png_of_6300_by_6300_pixels_is_refused_before_it_is_decoded(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = flat_png(6300, 6300)
    assert len(raw) < 200_000  # small on the wire, 160 MB once decoded
    decoded: list[object] = []
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda image: decoded.append(image))

    response = city.client.post("/api/v1/media", files={"file": ("big.png", raw, "image/png")})

    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("media-too-many-pixels")
    assert response.json()["field"] == "file"
    assert decoded == []


@pytest.mark.parametrize("size", [(4032, 3024), (4000, 4000), (5712, 4284)])
def test_the_default_pixel_cap_admits_phone_photos(city: City, size: tuple[int, int]) -> None:
    # Header only: past the cap, the cut-short pixel data is what gets refused.
    raw = _png_header_claiming(*size)

    response = city.client.post("/api/v1/media", files={"file": ("p.png", raw, "image/png")})

    assert response.json()["type"].endswith("media-truncated"), response.text


def test_photos_beyond_the_decode_slots_wait_for_a_free_one(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = city.ctx.extras["media_decodes"]
    inside = 0
    most_inside = 0
    first_inside = threading.Event()
    release = threading.Event()
    real_decode = service.decode_upload

    def slow_decode(raw: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedImage:
        nonlocal inside, most_inside
        inside += 1
        most_inside = max(most_inside, inside)
        first_inside.set()
        release.wait(timeout=30)
        inside -= 1
        return real_decode(raw, max_bytes=max_bytes, max_pixels=max_pixels)

    monkeypatch.setattr(service, "decode_upload", slow_decode)
    results: list[ProcessedImage] = []

    async def decode_one() -> None:
        results.append(await decode_photo(city.ctx, jpeg_bytes()))

    async def two_at_once() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(decode_one)
            tasks.start_soon(decode_one)
            await anyio.to_thread.run_sync(first_inside.wait, 30)
            await anyio.wait_all_tasks_blocked()
            waiting = limiter.statistics().tasks_waiting
            release.set()
        assert waiting == 1

    # On a thread of its own: this one may already run Playwright's event loop.
    with anyio.from_thread.start_blocking_portal() as portal:
        portal.call(two_at_once)

    assert most_inside == 1
    assert len(results) == 2
