"""Images for upload tests, made in memory."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload and CRC."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_header(width: int, height: int) -> bytes:
    """A PNG's signature and IHDR chunk for an 8-bit RGB image of this size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return PNG_SIGNATURE + png_chunk(b"IHDR", header)


def flat_png(width: int, height: int) -> bytes:
    """A complete, valid RGB PNG of one colour, built row by row so that the test never holds
    its pixels: 6300x6300 compresses to about 116 KB, yet decodes to 160 MB."""
    compressor = zlib.compressobj()
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return png_header(width, height) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
