"""Safe decoding and re-encoding of citizen-uploaded photos.

Every upload is treated as hostile: it is size-capped before decoding, its pixel
count is checked from the header before any pixel buffer is allocated, it is fully
decoded (so truncated files are caught), and it is re-encoded from raw pixels so no
metadata (EXIF, GPS, XMP, comments, PNG text chunks) survives. An RGB or grey JPEG with
nothing to rotate is the exception: its metadata segments are dropped losslessly
(``jpeg_strip``) and the stripped file is what is fully decoded, which is a third of the CPU.
The GPS position is read out first and returned separately, as a location hint.

Memory is what a hostile upload attacks: a 116 KB PNG can claim 6300x6300 pixels, and
Pillow holds RGB as four bytes a pixel. So the pixel cap is checked on the header, only the
first frame is ever decoded, and the pipeline keeps at most two full-size buffers alive
(the decoded image and, for a rotated photo, its upright copy): rotation happens in
place, and the thumbnail is reduced in place once the full-size image is encoded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Real
from typing import Any, Final

from PIL import ExifTags, Image, ImageFile, ImageOps

from cityloop.platforms.application.media.encoding import encode
from cityloop.platforms.application.media.jpeg_strip import strip_jpeg
from cityloop.platforms.application.media.messages import Message

__all__ = ["MediaRejected", "ProcessedImage", "process_image"]


class MediaRejected(Exception):
    """The upload is not an acceptable image.

    ``code`` is a short, stable slug for the API layer: ``too_large`` (413),
    ``not_an_image`` / ``unsupported_format`` (415), and ``empty`` / ``truncated`` /
    ``too_many_pixels`` (422). ``detail`` is a human-readable explanation (a message code in
    both languages, or Pillow's own words).
    """

    def __init__(self, code: str, detail: str | Message) -> None:
        # ``detail`` reads in English; ``message`` keeps the code for the reader's language.
        self.message = detail if isinstance(detail, Message) else None
        self.detail = detail.render() if isinstance(detail, Message) else detail
        super().__init__(f"{code}: {self.detail}")
        self.code = code


@dataclass(frozen=True)
class ProcessedImage:
    content_type: str
    extension: str
    width: int
    height: int
    data: bytes
    thumbnail: bytes
    thumbnail_content_type: str
    sha256: str
    # (lat, lon) from EXIF before stripping; NOT present in ``data``.
    gps: tuple[float, float] | None


@dataclass(frozen=True)
class _Format:
    pillow_name: str  # format name passed to Image.save
    content_type: str
    extension: str


_JPEG: Final = _Format("JPEG", "image/jpeg", "jpg")
_PNG: Final = _Format("PNG", "image/png", "png")
_WEBP: Final = _Format("WEBP", "image/webp", "webp")

# Keyed by the format Pillow reports after decoding. MPO is what Pillow calls a
# JPEG carrying extra (e.g. stereo/depth) pictures, common from some phones; it
# is a JPEG as far as we care and we keep only its first picture.
_ACCEPTED: Final[dict[str, _Format]] = {
    "JPEG": _JPEG,
    "MPO": _JPEG,
    "PNG": _PNG,
    "WEBP": _WEBP,
}
# Only these Pillow plugins ever parse an upload: less attack surface than letting
# Pillow try every format it knows (some of which shell out or are rarely fuzzed).
_OPEN_FORMATS: Final = ("JPEG", "PNG", "WEBP")

_JPEG_QUALITY: Final = 85
_WEBP_QUALITY: Final = 85

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


def process_image(
    raw: bytes,
    *,
    max_bytes: int = 10_000_000,
    max_pixels: int = 25_000_000,
    thumb_size: int = 320,
) -> ProcessedImage:
    """Validate, decode, strip and re-encode an uploaded image; MediaRejected if unacceptable."""
    if not raw:
        raise MediaRejected("empty", Message("media.uploaded_file_empty"))
    if len(raw) > max_bytes:
        raise MediaRejected(
            "too_large",
            Message(
                "media.file_bytes_limit_bytes", {"size": str(len(raw)), "max_bytes": str(max_bytes)}
            ),
        )
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Something else in the process flipped this global; with it on, Pillow
        # silently pads truncated files and we could not reject them. Fail closed
        # rather than changing global state under other threads.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must be False")

    sniffed = _sniff(raw)
    if sniffed is None:
        raise MediaRejected("not_an_image", Message("media.file_recognisable_image_expected"))
    if sniffed not in _OPEN_FORMATS:
        raise MediaRejected(
            "unsupported_format",
            Message("media.images_are_accepted_please", {"sniffed": str(sniffed)}),
        )

    # Pillow's own bomb limit also applies, so anything Pillow would warn about
    # is rejected here too, consistently, whatever max_pixels the caller passed.
    pixel_limit = max_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        pixel_limit = min(pixel_limit, Image.MAX_IMAGE_PIXELS)

    if sniffed == "WEBP":
        # libwebp allocates the whole canvas when Pillow merely *opens* a WebP, so
        # check the header dimensions ourselves before handing it over.
        size = _webp_header_size(raw)
        if size is not None:
            _check_pixels(size, pixel_limit)

    try:
        img = Image.open(io.BytesIO(raw), formats=_OPEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning is only an exception if the app made warnings errors.
        raise MediaRejected(
            "too_many_pixels", Message("media.too_many_pixels", {"reason": str(exc)})
        ) from exc
    except Exception as exc:
        # The magic bytes matched, so this is a damaged file of a known format.
        raise MediaRejected(
            "truncated", Message("media.file_looks_like_but", {"sniffed": str(sniffed)})
        ) from exc

    with img:
        fmt = _ACCEPTED.get(img.format or "")
        if fmt is None:  # defensive: plugins can hand back sub-formats
            raise MediaRejected(
                "unsupported_format",
                Message("media.images_are_accepted", {"format": str(img.format)}),
            )
        # Header-only so far: reject huge dimensions before any pixel buffer exists.
        _check_pixels(img.size, pixel_limit)

        stripped = _strip_losslessly(img, raw, fmt)
        if stripped is not None:
            # A JPEG's EXIF is in its header, so it can be read without decoding this file.
            gps = _extract_gps(img)
            return _from_stripped(stripped, gps=gps, pixel_limit=pixel_limit, thumb_size=thumb_size)
        # Only the first frame of animated PNG/WebP (and the primary MPO picture) is decoded.
        _load(img, fmt)
        gps = _extract_gps(img)  # after decoding: a PNG's eXIf chunk may follow its pixels
        icc = img.info.get("icc_profile")
        transparency = img.info.get("transparency")
        # In place: the decoded buffer is swapped for the upright one, never copied.
        # Malformed EXIF must not sink an otherwise fine photo: it then stays as stored.
        with contextlib.suppress(Exception):
            ImageOps.exif_transpose(img, in_place=True)

        clean = _strip(img, icc=icc, transparency=transparency, fmt=fmt)
        with _writable(clean):
            data = _encode_main(clean, fmt)
        return _processed(data, fmt, clean, gps=gps, thumb_size=thumb_size)


@contextlib.contextmanager
def _writable(clean: Image.Image) -> Iterator[None]:
    """Pillow can decode a few exotic pixel layouts it cannot write back: refuse those."""
    try:
        yield
    except (OSError, ValueError, KeyError) as exc:
        raise MediaRejected(
            "unsupported_format",
            Message("media.image_s_pixel_format", {"mode": str(clean.mode)}),
        ) from exc


def _processed(
    data: bytes,
    fmt: _Format,
    clean: Image.Image,
    *,
    gps: tuple[float, float] | None,
    thumb_size: int,
) -> ProcessedImage:
    """The stored image's record, with its thumbnail made from ``clean``, its decoded pixels
    (their last use, so the thumbnail may shrink them in place)."""
    width, height = clean.size
    with _writable(clean):
        thumb_bytes, thumb_type = _encode_thumbnail(clean, thumb_size)
    return ProcessedImage(
        content_type=fmt.content_type,
        extension=fmt.extension,
        width=width,
        height=height,
        data=data,
        thumbnail=thumb_bytes,
        thumbnail_content_type=thumb_type,
        sha256=hashlib.sha256(data).hexdigest(),
        gps=gps,
    )


def _load(img: Image.Image, fmt: _Format) -> None:
    """Decode every pixel, so a truncated or corrupt file is refused here and not stored."""
    try:
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRejected(
            "too_many_pixels", Message("media.too_many_pixels", {"reason": str(exc)})
        ) from exc
    except MemoryError as exc:
        raise MediaRejected("too_many_pixels", Message("media.image_too_large_decode")) from exc
    except Exception as exc:
        raise MediaRejected(
            "truncated",
            Message("media.image_data_truncated_corrupt", {"pillow_name": str(fmt.pillow_name)}),
        ) from exc


def _strip_losslessly(img: Image.Image, raw: bytes, fmt: _Format) -> bytes | None:
    """An RGB or grey JPEG with nothing to rotate, its metadata segments dropped; else None."""
    if fmt is not _JPEG or img.mode not in ("L", "RGB"):
        return None
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation)
    except Exception:
        return None  # unreadable EXIF: the re-encoding path copes with it
    if orientation in range(2, 9):
        return None  # Pillow can only rotate decoded pixels
    keep_icc = _icc_matching(img.info.get("icc_profile"), img.mode) is not None
    return strip_jpeg(raw, keep_icc=keep_icc)


def _from_stripped(
    data: bytes, *, gps: tuple[float, float] | None, pixel_limit: int, thumb_size: int
) -> ProcessedImage:
    """Fully decode the stripped JPEG that will be stored (the safety check) and thumbnail it."""
    with Image.open(io.BytesIO(data), formats=("JPEG",)) as clean:
        _check_pixels(clean.size, pixel_limit)
        _load(clean, _JPEG)
        return _processed(data, _JPEG, clean, gps=gps, thumb_size=thumb_size)


# --- format sniffing -------------------------------------------------------------

_BMP_HEADER_SIZES: Final = {12, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS: Final = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def _sniff(raw: bytes) -> str | None:
    """Name the format from magic bytes, or None if it is not a known image.

    Done before Pillow so unsupported-but-real images get a helpful 415 without
    any decoder touching them.
    """
    head = raw[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_SIGNATURE):
        return "PNG"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if (
        head.startswith(b"BM")
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    ):
        return "BMP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"  # also most camera RAW files
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIC"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL "):
        return "JPEG XL"
    stripped = raw[:512].lstrip().lower()
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in stripped):
        return "SVG"
    return None


def _webp_header_size(raw: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP header (VP8, VP8L or VP8X), or None if unparseable."""
    chunk = raw[12:16]
    if chunk == b"VP8X" and len(raw) >= 30:
        # 24-bit little-endian "minus one" canvas width/height.
        width = int.from_bytes(raw[24:27], "little") + 1
        height = int.from_bytes(raw[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(raw) >= 30 and raw[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(raw[26:28], "little") & 0x3FFF
        height = int.from_bytes(raw[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L" and len(raw) >= 25 and raw[20] == 0x2F:
        bits = int.from_bytes(raw[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _check_pixels(size: tuple[int, int], limit: int) -> None:
    width, height = size
    if width * height > limit:
        raise MediaRejected(
            "too_many_pixels",
            Message(
                "media.image_x_pixels_limit",
                {
                    "width": str(width),
                    "height": str(height),
                    "value": str(width * height),
                    "limit": str(limit),
                },
            ),
        )


# --- GPS -------------------------------------------------------------------------

_GPS_LAT_REF: Final = 1
_GPS_LAT: Final = 2
_GPS_LON_REF: Final = 3
_GPS_LON: Final = 4


def _extract_gps(img: Image.Image) -> tuple[float, float] | None:
    """(lat, lon) in decimal degrees from EXIF, or None. Never raises.

    Phone EXIF is frequently malformed (zero denominators, wrong types, missing
    refs), and a bad location hint must never cost the citizen their upload.
    """
    try:
        gps_ifd = img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        lat = _dms_to_degrees(gps_ifd.get(_GPS_LAT), gps_ifd.get(_GPS_LAT_REF), "N", "S", 90.0)
        lon = _dms_to_degrees(gps_ifd.get(_GPS_LON), gps_ifd.get(_GPS_LON_REF), "E", "W", 180.0)
    except Exception:
        return None
    if lat is None or lon is None:
        return None
    if lat == 0.0 and lon == 0.0:
        # Receivers without a fix often write 0/0 ("Null Island"); not a real hint.
        return None
    return lat, lon


def _dms_to_degrees(
    value: Any, ref: Any, positive: str, negative: str, limit: float
) -> float | None:
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(ref, str):
        return None
    ref = ref.strip("\x00 ").upper()
    if ref not in (positive, negative):
        # Without a hemisphere the sign is a guess; a wrong hint is worse than none.
        return None

    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers: list[float] = []
    for part in parts:
        if not isinstance(part, Real):
            return None
        number = float(part)  # IFDRational with a zero denominator gives nan
        if not math.isfinite(number) or number < 0:
            return None
        numbers.append(number)
    numbers += [0.0] * (3 - len(numbers))
    degrees, minutes, seconds = numbers
    if minutes >= 60 or seconds >= 60:
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if result > limit:
        return None
    return -result if ref == negative else result


# --- re-encoding -----------------------------------------------------------------

# ICC header bytes 16..20 name the profile's colour space.
_ICC_SPACE_FOR_MODE: Final[dict[str, bytes]] = {
    "RGB": b"RGB ",
    "RGBA": b"RGB ",
    "P": b"RGB ",
    "PA": b"RGB ",
    "L": b"GRAY",
    "LA": b"GRAY",
    "CMYK": b"CMYK",
}


def _icc_matching(icc: Any, mode: str) -> bytes | None:
    """The ICC profile if it describes ``mode``'s colour space, else None.

    Keeping the profile matters (e.g. iPhone photos are Display P3), but after a
    mode conversion a mismatched profile would make viewers render garbage.
    """
    if not isinstance(icc, bytes) or len(icc) < 20:
        return None
    return icc if icc[16:20] == _ICC_SPACE_FOR_MODE.get(mode) else None


def _strip(upright: Image.Image, *, icc: Any, transparency: Any, fmt: _Format) -> Image.Image:
    """Return an image with no metadata at all, except a matching ICC profile.

    Pillow's writers fall back to ``im.info`` for some fields (JPEG comments, PNG
    ICC/transparency), so ``info`` is replaced wholesale rather than filtered.
    """
    clean = upright
    if fmt is _JPEG and clean.mode not in ("L", "RGB"):
        # CMYK JPEGs render inconsistently across browsers; store plain RGB.
        clean = clean.convert("RGB")
    clean.info = {}
    if (profile := _icc_matching(icc, clean.mode)) is not None:
        clean.info["icc_profile"] = profile
    if fmt is _PNG and transparency is not None and clean.mode == upright.mode:
        # tRNS is pixel data, not metadata: without it palette PNGs lose their alpha.
        clean.info["transparency"] = transparency
    return clean


def _encode_main(clean: Image.Image, fmt: _Format) -> bytes:
    icc = clean.info.get("icc_profile")
    if fmt is _JPEG:
        return encode(clean, format="JPEG", quality=_JPEG_QUALITY, optimize=True, icc_profile=icc)
    if fmt is _WEBP:
        return encode(clean, format="WEBP", quality=_WEBP_QUALITY, icc_profile=icc)
    return encode(clean, format="PNG", optimize=False, icc_profile=icc)


_SIXTEEN_BIT_MODES: Final = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info


def _encode_thumbnail(clean: Image.Image, thumb_size: int) -> tuple[bytes, str]:
    """JPEG thumbnail, or PNG when the image has transparency (JPEG has no alpha).

    ``clean`` is shrunk in place when no mode conversion is needed: the caller is done with
    its full-size pixels, and a copy would cost one more full-size buffer.
    """
    img = clean
    if img.mode in _SIXTEEN_BIT_MODES:
        # A plain convert("L") would clip 16-bit grey to white; scale it down instead.
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if _has_alpha(img):
        fmt, content_type = "PNG", "image/png"
        img = img if img.mode == "RGBA" else img.convert("RGBA")
    else:
        # P, 1, CMYK, F...: resample in RGB (or L), never in palette space.
        img = img if img.mode in ("L", "RGB") else img.convert("RGB")
        fmt, content_type = "JPEG", "image/jpeg"
    icc = _icc_matching(clean.info.get("icc_profile"), img.mode)
    # A box reduction to within 2x of the size, then Lanczos: a third of the CPU of Lanczos
    # from full size (4.6 -> 2.1 ms for 800x600), and no visible difference at 320 pixels.
    img.thumbnail((thumb_size, thumb_size), Image.Resampling.LANCZOS, reducing_gap=1.0)
    img.info = {}

    if fmt == "JPEG":
        data = encode(img, format="JPEG", quality=_JPEG_QUALITY, optimize=True, icc_profile=icc)
    else:
        data = encode(img, format="PNG", icc_profile=icc)
    return data, content_type
