"""Upright JPEGs are stripped losslessly: no metadata survives, the picture is unchanged, and
anything unusual or broken still goes the careful way."""

from __future__ import annotations

import io
import random

import pytest
from PIL import ExifTags, Image, ImageChops

from cityloop.platforms.application.media.imaging import MediaRejected, process_image
from cityloop.platforms.application.media.jpeg_strip import strip_jpeg
from tests.support.city import City

SECRETS = (b"Exif", b"CityCam 9000", b"Acme", b"xmpmeta", b"home address", b"secret comment")


def _noise(size: tuple[int, int] = (240, 160)) -> Image.Image:
    rng = random.Random(7)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def _jpeg(img: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, **params)
    return out.getvalue()


def _exif(orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "CityCam 9000"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 7.0, 30.0),
    }
    return exif


def _upright_phone_jpeg(**params: object) -> bytes:
    return _jpeg(
        _noise(),
        exif=_exif(1),
        xmp=b"<x:xmpmeta>home address</x:xmpmeta>",
        comment=b"secret comment",
        **params,
    )


def _pixels(raw: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(raw))
    img.load()
    return img


@pytest.mark.parametrize(
    "params",
    [{}, {"progressive": True}, {"restart_marker_blocks": 4}, {"subsampling": 0}],
    ids=["baseline", "progressive", "restart-markers", "no-subsampling"],
)
def test_upright_jpeg_loses_every_metadata_segment_but_keeps_its_picture(
    params: dict[str, object],
) -> None:
    raw = _upright_phone_jpeg(**params)
    assert all(secret in raw for secret in SECRETS)  # sanity: the fixture carries them

    result = process_image(raw)

    for secret in SECRETS:
        assert secret not in result.data
        assert secret not in result.thumbnail
    stored = _pixels(result.data)
    assert dict(stored.getexif()) == {}
    assert {"exif", "xmp", "comment"}.isdisjoint(stored.info)
    # Lossless: the stored file decodes to exactly the pixels of the upload.
    assert ImageChops.difference(stored, _pixels(raw)).getbbox() is None
    assert (result.width, result.height) == (240, 160)


def test_gps_is_still_read_from_an_upright_jpeg_before_stripping() -> None:
    result = process_image(_upright_phone_jpeg())

    assert result.gps == pytest.approx((51.5, -0.125), abs=1e-6)


def test_an_uploaded_upright_photo_offers_its_position_and_serves_no_metadata(city: City) -> None:
    response = city.client.post(
        "/api/v1/media", files={"file": ("p.jpg", _upright_phone_jpeg(), "image/jpeg")}
    )

    assert response.status_code == 201, response.text
    assert response.json()["location_hint"] == pytest.approx({"lat": 51.5, "lon": -0.125})
    for url in (response.json()["url"], response.json()["thumbnail_url"]):
        served = city.client.get(url).content
        assert not any(secret in served for secret in SECRETS)


def test_an_uploaded_upright_photo_cut_short_is_a_422_naming_the_file(city: City) -> None:
    raw = _upright_phone_jpeg()

    response = city.client.post(
        "/api/v1/media", files={"file": ("p.jpg", raw[: len(raw) // 2], "image/jpeg")}
    )

    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("media-truncated")
    assert response.json()["field"] == "file"


def test_a_photo_to_rotate_is_still_re_encoded_upright() -> None:
    raw = _jpeg(_noise(), exif=_exif(6))

    result = process_image(raw)

    assert (result.width, result.height) == (160, 240)
    assert b"CityCam 9000" not in result.data


def test_upright_jpeg_cut_short_is_refused_as_truncated() -> None:
    raw = _upright_phone_jpeg()

    with pytest.raises(MediaRejected) as caught:
        process_image(raw[: len(raw) * 2 // 3])

    assert caught.value.code == "truncated"


def test_a_jpeg_with_a_second_picture_is_stored_with_the_first_only() -> None:
    out = io.BytesIO()
    _noise().save(out, "MPO", save_all=True, append_images=[_noise((80, 80))])

    result = process_image(out.getvalue())

    assert result.data.count(b"\xff\xd8") == 1
    assert _pixels(result.data).size == (240, 160)


def test_bytes_hidden_after_the_end_of_the_picture_are_dropped() -> None:
    raw = _jpeg(_noise()) + b"<script>alert(1)</script>"

    assert b"<script>" not in process_image(raw).data


def test_icc_profile_is_kept_only_when_asked() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = _jpeg(_noise(), icc_profile=icc)

    kept = strip_jpeg(raw, keep_icc=True)
    dropped = strip_jpeg(raw, keep_icc=False)

    assert kept is not None and _pixels(kept).info.get("icc_profile") == icc
    assert dropped is not None and "icc_profile" not in _pixels(dropped).info


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # no end of image
        lambda raw: raw[:2] + b"\x00" + raw[2:],  # a stray byte between segments
        lambda raw: raw.replace(b"\xff\xd9", b""),  # end marker removed
        lambda raw: raw[:2] + raw[raw.index(b"\xff\xda") :],  # a scan with no frame header
    ],
    ids=["cut-short", "stray-byte", "no-end-marker", "scan-before-frame"],
)
def test_an_unusual_layout_is_left_to_the_re_encoder(damage: object) -> None:
    assert callable(damage)
    assert strip_jpeg(damage(_jpeg(_noise())), keep_icc=True) is None
