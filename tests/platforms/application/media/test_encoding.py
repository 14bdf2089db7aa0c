"""Images are encoded through an in-memory file (so the codec runs without the GIL) into exactly
the bytes an ordinary in-memory save gives."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from cityloop.platforms.application.media.encoding import encode


def _picture() -> Image.Image:
    return Image.linear_gradient("L").resize((300, 200)).convert("RGB")


def _saved(img: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, **params)
    return out.getvalue()


@pytest.mark.parametrize(
    "params",
    [{"format": "JPEG", "quality": 85, "optimize": True}, {"format": "PNG"}],
    ids=["jpeg", "png"],
)
def test_encoding_gives_the_same_bytes_as_saving_to_memory(params: dict[str, object]) -> None:
    assert encode(_picture(), **params) == _saved(_picture(), **params)


def test_without_memfd_an_ordinary_temporary_file_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)

    assert encode(_picture(), format="JPEG") == _saved(_picture(), format="JPEG")
