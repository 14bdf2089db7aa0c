"""Documents handed in with an application (a scanned licence, a site plan): a PDF, or a photo of
the paper. Photos go through the same decode-and-strip as every other image; a PDF is checked to
be a whole, unencrypted PDF without active content, and is kept byte for byte.

The PDF check reads the file's names rather than parsing it: a document that needs JavaScript,
launches programs or carries other files is refused, whichever way its names are escaped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

from cityloop.base import metrics
from cityloop.base.problems import Problem
from cityloop.platforms.application.media.messages import Message
from cityloop.platforms.application.media.service import decode_upload

PDF_CONTENT_TYPE = "application/pdf"
# PDF names that run code, open other programs or carry other files.
_ACTIVE = frozenset(
    {"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "RichMedia", "XFA"}
)
_NAME = re.compile(rb"/([A-Za-z0-9#]{1,64})")
_HEX = re.compile(r"#([0-9A-Fa-f]{2})")
_IMAGE_TYPES = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True)
class Document:
    kind: str  # pdf, jpeg, png or webp
    data: bytes
    content_type: str
    extension: str
    sha256: str


def _refuse(status: int, code: str, detail: Message) -> Problem:
    metrics.INPUT_REJECTED.inc(reason=f"document_{code}")
    return Problem(status, f"document-{code.replace('_', '-')}", detail, field="file")


def _names(raw: bytes) -> set[str]:
    found = set()
    for match in _NAME.finditer(raw):
        text = match.group(1).decode("ascii")
        found.add(_HEX.sub(lambda m: chr(int(m.group(1), 16)), text))
    return found


def _check_pdf(raw: bytes) -> None:
    if b"%%EOF" not in raw[-2048:]:
        raise _refuse(422, "truncated", Message("media.pdf_complete_end_file"))
    names = _names(raw)
    if "Encrypt" in names:
        raise _refuse(422, "encrypted", Message("media.pdf_encrypted_hand_copy"))
    active = sorted(names & _ACTIVE)
    if active:
        raise _refuse(
            422,
            "active-content",
            Message("media.pdf_carries_active_content", {"items": ", ".join(active)}),
        )


def screen_document(
    raw: bytes, *, types: Collection[str], max_bytes: int, max_pixels: int
) -> Document:
    """Check one uploaded document against the accepted types (pdf, jpeg, png, webp) and size;
    413, 415 or 422 naming ``file`` when it is refused."""
    if len(raw) > max_bytes:
        raise _refuse(
            413, "too_large", Message("media.file_over_bytes", {"max_bytes": str(max_bytes)})
        )
    if raw.startswith(b"%PDF-"):
        if "pdf" not in types:
            raise _refuse(
                415,
                "type_not_accepted",
                Message("media.pdf_accepted_here_send", {"items": ", ".join(sorted(types))}),
            )
        _check_pdf(raw)
        return Document("pdf", raw, PDF_CONTENT_TYPE, "pdf", hashlib.sha256(raw).hexdigest())
    image = decode_upload(raw, max_bytes=max_bytes, max_pixels=max_pixels)
    kind = _IMAGE_TYPES.get(image.content_type)
    accepted = ", ".join(sorted(types))
    if kind is None or kind not in types:
        raise _refuse(
            415,
            "type_not_accepted",
            Message(
                "media.file_accepted_here_send",
                {"value": str(kind or image.content_type), "accepted": str(accepted)},
            ),
        )
    return Document(kind, image.data, image.content_type, image.extension, image.sha256)
