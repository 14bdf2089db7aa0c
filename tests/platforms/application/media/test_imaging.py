"""Tests for cityloop.platforms.application.media.imaging: safe decoding and metadata stripping."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageFile, PngImagePlugin

from cityloop.platforms.application.media.imaging import (
    MediaRejected,
    ProcessedImage,
    process_image,
)

# Southern/eastern hemisphere on purpose, so the sign handling is exercised.
GPS_LAT = -(33 + 52 / 60 + 4.2 / 3600)
GPS_LON = 151 + 12 / 60 + 30 / 3600


def _noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """Random pixels: they compress badly, so pixel data dominates the file."""
    rnd = random.Random(seed)
    bands = len(mode)
    return Image.frombytes(mode, size, rnd.randbytes(size[0] * size[1] * bands))


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def _rejection(raw: bytes, **kwargs: int) -> MediaRejected:
    with pytest.raises(MediaRejected) as info:
        process_image(raw, **kwargs)
    return info.value


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_claiming_size(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header whose IHDR claims the given dimensions."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture
def phone_jpeg() -> bytes:
    """A 400x200 landscape-stored JPEG shot in portrait (orientation 6) with GPS."""
    img = _noise((400, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "CityCam 9000"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (33.0, 52.0, 4.2),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (151.0, 12.0, 30.0),
    }
    raw = _encode(
        img,
        "JPEG",
        exif=exif,
        xmp=b"<x:xmpmeta>home address</x:xmpmeta>",
        comment=b"secret comment",
    )
    assert b"Exif" in raw and b"CityCam 9000" in raw  # sanity: the fixture has metadata
    return raw


def test_jpeg_with_exif_comes_out_without_any_metadata(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)

    assert result.content_type == "image/jpeg"
    assert result.extension == "jpg"
    out = Image.open(io.BytesIO(result.data))
    assert out.format == "JPEG"
    assert dict(out.getexif()) == {}
    for leaked in (b"Exif", b"CityCam 9000", b"Acme", b"xmpmeta", b"home address", b"secret"):
        assert leaked not in result.data
    assert {"exif", "xmp", "comment"}.isdisjoint(out.info)


def test_jpeg_thumbnail_has_no_metadata_either(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)

    assert b"Exif" not in result.thumbnail
    assert b"CityCam 9000" not in result.thumbnail
    assert dict(Image.open(io.BytesIO(result.thumbnail)).getexif()) == {}


def test_orientation_6_is_applied_so_the_photo_is_upright(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)

    assert (result.width, result.height) == (200, 400)
    assert Image.open(io.BytesIO(result.data)).size == (200, 400)


def test_gps_is_returned_from_exif_before_stripping(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)

    assert result.gps is not None
    assert result.gps == pytest.approx((GPS_LAT, GPS_LON), abs=1e-6)


def test_photo_without_gps_returns_none() -> None:
    assert process_image(_encode(_noise((40, 30)), "JPEG")).gps is None


@pytest.mark.parametrize(
    "gps_ifd",
    [
        {1: "N", 2: (1.0, 2.0, 3.0), 3: "E"},  # longitude missing
        {1: "N", 2: (1.0, 2.0, 3.0), 3: "X", 4: (1.0, 2.0, 3.0)},  # bogus ref
        {2: (1.0, 2.0, 3.0), 4: (1.0, 2.0, 3.0)},  # refs missing: hemisphere unknown
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (1.0, 2.0, 3.0)},  # latitude > 90
        {1: "N", 2: (1.0, 75.0, 0.0), 3: "E", 4: (1.0, 2.0, 3.0)},  # minutes >= 60
        {1: "N", 2: (1.0, 2.0, 3.0, 4.0), 3: "E", 4: (1.0, 2.0, 3.0)},  # wrong arity
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # "no fix" 0/0
    ],
)
def test_malformed_gps_gives_none_instead_of_failing(gps_ifd: dict[int, object]) -> None:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = gps_ifd
    raw = _encode(_noise((40, 30)), "JPEG", exif=exif)

    assert process_image(raw).gps is None


def test_gps_with_zero_denominator_gives_none() -> None:
    raw = _encode(_noise((40, 30)), "JPEG")
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (1.0, 2.0, 3.0), 3: "E", 4: (1.0, 2.0, 3.0)}
    exif_bytes = exif.tobytes()
    # Rewrite the first rational's denominator (1) to 0 inside the EXIF block.
    one_over_one = struct.pack("<II", 1, 1)
    assert one_over_one in exif_bytes
    exif_bytes = exif_bytes.replace(one_over_one, struct.pack("<II", 1, 0), 1)
    raw = _encode(_noise((40, 30)), "JPEG", exif=exif_bytes)

    assert process_image(raw).gps is None


# Pillow warns while parsing the damaged block; that is expected here.
@pytest.mark.filterwarnings("ignore:Truncated File Read")
def test_cut_off_exif_block_neither_fails_nor_yields_gps() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (1.0, 2.0, 3.0), 3: "E", 4: (1.0, 2.0, 3.0)}
    exif_bytes = exif.tobytes()
    raw = _encode(_noise((40, 30)), "JPEG", exif=exif_bytes[: len(exif_bytes) // 2])

    result = process_image(raw)

    assert result.gps is None
    assert b"Exif" not in result.data


def test_png_text_chunks_are_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken from my balcony")
    info.add_text("Author", "Jane Citizen", zip=True)
    info.add_itxt("Description", "street corner", lang="en")
    raw = _encode(_noise((60, 40)), "PNG", pnginfo=info)
    assert b"tEXt" in raw  # sanity

    result = process_image(raw)

    assert result.content_type == "image/png"
    assert result.extension == "png"
    out = Image.open(io.BytesIO(result.data))
    out.load()
    assert out.text == {}
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk not in result.data
    assert b"balcony" not in result.data


def test_png_exif_chunk_is_dropped_but_gps_is_read() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "CityCam 9000"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (10.0, 30.0, 0.0), 3: "W", 4: (20.0, 15.0, 0.0)}
    raw = _encode(_noise((60, 40)), "PNG", exif=exif)

    result = process_image(raw)

    assert result.gps == pytest.approx((10.5, -20.25))
    assert b"eXIf" not in result.data and b"CityCam" not in result.data


def test_palette_png_keeps_its_transparency() -> None:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 0, 0, 0, 255, 0])
    raw = _encode(img, "PNG", transparency=0)

    result = process_image(raw)

    out = Image.open(io.BytesIO(result.data))
    assert out.mode == "P"
    assert out.info.get("transparency") == 0
    assert result.thumbnail_content_type == "image/png"


def test_webp_is_accepted_and_stripped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "CityCam 9000"
    raw = _encode(_noise((120, 80)), "WEBP", exif=exif, xmp=b"<x:xmpmeta/>")

    result = process_image(raw)

    assert result.content_type == "image/webp"
    assert result.extension == "webp"
    assert (result.width, result.height) == (120, 80)
    out = Image.open(io.BytesIO(result.data))
    assert out.format == "WEBP"
    assert dict(out.getexif()) == {}
    assert b"EXIF" not in result.data and b"XMP " not in result.data
    assert b"CityCam" not in result.data


def test_animated_webp_keeps_only_the_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "lime", "blue")]
    raw = _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)

    result = process_image(raw)

    out = Image.open(io.BytesIO(result.data))
    assert getattr(out, "n_frames", 1) == 1
    red, green, blue = out.convert("RGB").getpixel((16, 16))  # type: ignore[misc]
    assert red > 200 and green < 50 and blue < 50


def test_text_is_rejected_as_not_an_image() -> None:
    error = _rejection(b"this is definitely not a photo of a pothole\n")
    assert error.code == "not_an_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_real_image_formats_are_unsupported(fmt: str) -> None:
    error = _rejection(_encode(Image.new("RGB", (10, 10), "red"), fmt))
    assert error.code == "unsupported_format"
    assert fmt in error.detail


def test_format_is_taken_from_content_not_from_what_it_claims() -> None:
    # A GIF with JPEG-looking trailing bytes is still a GIF.
    raw = _encode(Image.new("RGB", (10, 10)), "GIF") + b"\xff\xd8\xff"
    assert _rejection(raw).code == "unsupported_format"


def test_jpeg_cut_in_half_is_rejected_as_truncated(phone_jpeg: bytes) -> None:
    error = _rejection(phone_jpeg[: len(phone_jpeg) // 2])
    assert error.code == "truncated"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_cut_in_half_are_rejected_as_truncated(fmt: str) -> None:
    raw = _encode(_noise((200, 150)), fmt)
    assert _rejection(raw[: len(raw) // 2]).code == "truncated"


def test_truncation_check_does_not_touch_global_pillow_state(phone_jpeg: bytes) -> None:
    _rejection(phone_jpeg[: len(phone_jpeg) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    "size",
    [
        (30_000, 30_000),  # past Pillow's own bomb limit too
        (8_000, 6_000),  # 48 Mpx: only our 40 Mpx cap catches this one
    ],
)
def test_huge_dimensions_in_a_tiny_png_are_rejected_before_decoding(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _png_claiming_size(*size)
    assert len(raw) < 200

    def must_not_decode(self: Image.Image) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", must_not_decode)
    error = _rejection(raw, max_pixels=40_000_000)

    # How fast the rejection is belongs to benchmarks/guards.py, not to a timed assertion.
    assert error.code == "too_many_pixels"


def test_pixel_cap_uses_the_max_pixels_argument() -> None:
    raw = _encode(Image.new("L", (100, 100)), "PNG")
    assert _rejection(raw, max_pixels=9_999).code == "too_many_pixels"
    assert process_image(raw, max_pixels=10_000).width == 100


def test_pillow_bomb_limit_still_applies_when_max_pixels_is_raised() -> None:
    error = _rejection(_png_claiming_size(30_000, 30_000), max_pixels=10**12)
    assert error.code == "too_many_pixels"


def test_webp_canvas_size_is_checked_before_pillow_opens_it() -> None:
    # Alpha forces the extended (VP8X) layout, whose header holds the canvas size.
    raw = bytearray(_encode(Image.new("RGBA", (16, 16)), "WEBP"))
    assert raw[12:16] == b"VP8X"
    raw[24:30] = (9999).to_bytes(3, "little") + (9999).to_bytes(3, "little")

    assert _rejection(bytes(raw)).code == "too_many_pixels"


def test_oversize_bytes_are_rejected_before_decoding() -> None:
    error = _rejection(b"\x00" * 1001, max_bytes=1000)
    assert error.code == "too_large"


def test_empty_upload_is_rejected() -> None:
    assert _rejection(b"").code == "empty"


def test_thumbnail_longest_side_is_at_most_thumb_size() -> None:
    result = process_image(_encode(_noise((1000, 600)), "JPEG"))

    assert result.thumbnail_content_type == "image/jpeg"
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG"
    assert max(thumb.size) == 320
    assert thumb.size == (320, 192)


def test_custom_thumb_size_is_respected(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg, thumb_size=64)
    # Upright 200x400 source, so the height is the long side.
    assert Image.open(io.BytesIO(result.thumbnail)).size == (32, 64)


def test_small_images_are_not_upscaled_for_thumbnails() -> None:
    result = process_image(_encode(_noise((50, 40)), "PNG"))
    assert Image.open(io.BytesIO(result.thumbnail)).size == (50, 40)


def test_transparent_image_gets_a_png_thumbnail() -> None:
    result = process_image(_encode(_noise((400, 400), mode="RGBA"), "PNG"))

    assert result.thumbnail_content_type == "image/png"
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "PNG" and thumb.mode == "RGBA"
    assert max(thumb.size) <= 320


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("CMYK", "JPEG"), ("P", "PNG"), ("LA", "PNG"), ("1", "PNG"), ("I;16", "PNG"), ("L", "JPEG")],
)
def test_unusual_modes_produce_valid_output_and_thumbnail(mode: str, fmt: str) -> None:
    img = Image.new(mode, (64, 48))
    result = process_image(_encode(img, fmt))

    out = Image.open(io.BytesIO(result.data))
    out.load()
    thumb = Image.open(io.BytesIO(result.thumbnail))
    thumb.load()
    assert out.size == (64, 48)
    expected_thumb = "PNG" if mode == "LA" else "JPEG"
    assert thumb.format == expected_thumb


def test_cmyk_jpeg_is_stored_as_rgb() -> None:
    result = process_image(_encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG"))

    out = Image.open(io.BytesIO(result.data))
    assert out.mode == "RGB"
    red, green, blue = out.getpixel((10, 10))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_grey_thumbnail_is_scaled_not_clipped() -> None:
    img = Image.new("I;16", (20, 20), 32_768)  # mid grey on a 16-bit scale
    result = process_image(_encode(img, "PNG"))

    value = Image.open(io.BytesIO(result.thumbnail)).getpixel((5, 5))
    assert isinstance(value, int) and 100 < value < 160


def test_sha256_matches_the_stored_bytes(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()


def test_result_is_an_immutable_dataclass(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)
    assert isinstance(result, ProcessedImage)
    with pytest.raises(AttributeError):
        result.width = 1  # type: ignore[misc]


def test_icc_profile_is_kept_so_colours_survive() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    result = process_image(_encode(_noise((40, 30)), "JPEG", icc_profile=icc))

    assert Image.open(io.BytesIO(result.data)).info.get("icc_profile") == icc


def test_rejection_carries_code_and_detail() -> None:
    error = MediaRejected("too_large", "the file is 11 bytes")
    assert error.code == "too_large"
    assert error.detail == "the file is 11 bytes"
    assert "too_large" in str(error)
