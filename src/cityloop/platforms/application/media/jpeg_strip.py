"""Lossless removal of a JPEG's metadata segments, so an upright photo need not be re-encoded.

Re-encoding a photo only to drop its EXIF costs more than decoding it (and the encoder holds
the GIL); a JPEG's metadata lives in segments of its own, so they can be dropped whole and the
compressed picture kept byte for byte. Only the plain structure is handled: any marker outside
the whitelist, any stray byte, a second picture's worth of segments or a missing end gives None,
and the caller re-encodes from decoded pixels as before. The caller still fully decodes the
result, so what is stored is proven to decode.
"""

from __future__ import annotations

from typing import Final

__all__ = ["strip_jpeg"]

_SOI: Final = b"\xff\xd8"
_EOI: Final = b"\xff\xd9"
_SOS: Final = 0xDA
# Segments that describe the picture itself: frame headers (baseline, extended, progressive,
# and their arithmetic-coded forms), Huffman, arithmetic and quantisation tables, restart
# interval, scans. Everything else (lossless and hierarchical frames, extensions) re-encodes.
_PICTURE: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA, 0xC4, 0xCC, 0xDB, 0xDD, _SOS})
_FRAMES: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
_APP2: Final = 0xE2
_APP14: Final = 0xEE
_COM: Final = 0xFE
_ICC_TAG: Final = b"ICC_PROFILE\x00"


def strip_jpeg(raw: bytes, *, keep_icc: bool) -> bytes | None:
    """The JPEG without APPn segments (save its ICC profile if asked, and Adobe's colour flag),
    comments, or anything after its first picture; None if its layout is not the plain one."""
    if not raw.startswith(_SOI):
        return None
    out = [_SOI]
    pos, end = 2, len(raw)
    frames = 0
    while pos + 1 < end:
        if raw[pos] != 0xFF:
            return None  # a stray byte between segments: leave odd files to the re-encoder
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:
            # The first picture ends here; an MPO's other pictures and any tail are dropped.
            return b"".join((*out, _EOI)) if frames == 1 else None
        if pos + 4 > end:
            return None
        length = int.from_bytes(raw[pos + 2 : pos + 4], "big")
        stop = pos + 2 + length
        if length < 2 or stop > end:
            return None
        segment = raw[pos:stop]
        if marker in _PICTURE:
            frames += marker in _FRAMES
            if frames > 1 or (marker == _SOS and frames == 0):
                return None
            out.append(segment)
        elif marker == _APP2 and segment[4:16] == _ICC_TAG:
            if keep_icc:
                out.append(segment)
        elif marker == _APP14 and segment[4:9] == b"Adobe":
            # Colour-transform flag (RGB or YCbCr): part of reading the pixels, not metadata.
            out.append(segment)
        elif not (0xE0 <= marker <= 0xEF or marker == _COM):
            return None  # not a marker a plain JPEG carries between its segments
        pos = stop
        if marker == _SOS:
            scan_end = _entropy_end(raw, pos)
            if scan_end is None:
                return None
            out.append(raw[pos:scan_end])
            pos = scan_end
    return None  # no end-of-image marker: truncated


def _entropy_end(raw: bytes, pos: int) -> int | None:
    """Where the compressed data that starts at ``pos`` ends: the next marker that is not a
    stuffed byte or a restart marker; None if the file ends first."""
    while (pos := raw.find(b"\xff", pos)) != -1:
        following = raw[pos + 1 : pos + 2]
        if not following:
            return None
        code = following[0]
        if code == 0x00 or 0xD0 <= code <= 0xD7:
            pos += 2  # a stuffed 0xFF, or a restart marker inside the scan
        elif code == 0xFF:
            pos += 1  # fill bytes before the next marker
        else:
            return pos
    return None
