"""Encoding an image to bytes without holding the GIL while the codec runs.

Pillow releases the GIL while it encodes into a real file descriptor, but holds it throughout
when it encodes into a ``BytesIO``: a phone photo's re-encode (tens of milliseconds) would
stall every other thread of the worker, its event loop included. So the bytes go through an
in-memory file (``memfd``; an ordinary temporary file where there is none) and are read back.
"""

from __future__ import annotations

import os
import tempfile
from typing import IO, Any

from PIL import Image

__all__ = ["encode"]


def _scratch_file() -> IO[bytes]:
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("cityloop-image", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()


def encode(img: Image.Image, **params: Any) -> bytes:
    """The image saved with these ``Image.save`` parameters, as bytes."""
    with _scratch_file() as out:
        img.save(out, **params)
        out.seek(0)
        return out.read()
