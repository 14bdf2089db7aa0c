"""QR codes of presentations (segno), for a wallet screen (SVG) and a printed licence (PNG).

A QR code holds either the presentation itself or a link to a verify page with the presentation
after ``#``: a phone's camera then opens the page, and the fragment never reaches a server's log.
"""

from __future__ import annotations

import io

import segno

# Medium error correction (15 %): a phone screen or a printout with a crease still scans, and a
# presentation of a few disclosures (about 1.1 KB with a verify link) is a version 27 code.
ERROR = "m"


def qr_payload(presentation: str, *, verify_url: str | None = None) -> str:
    """What the QR code holds: the presentation, or ``verify_url#presentation``."""
    presentation = presentation.strip()
    return f"{verify_url}#{presentation}" if verify_url else presentation


def presentation_from_qr(text: str) -> str:
    """The presentation a scanned QR code holds (see :func:`qr_payload`)."""
    text = text.strip()
    if text.lower().startswith(("http://", "https://")):
        return text.partition("#")[2].strip()
    return text


def _code(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error=ERROR, boost_error=False)


def qr_svg(payload: str, *, scale: int = 4, title: str | None = None) -> str:
    """An SVG document of the QR code (dark modules on white, with the quiet zone)."""
    buffer = io.BytesIO()
    _code(payload).save(
        buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, title=title, light="#fff"
    )
    return buffer.getvalue().decode("utf-8")


def qr_png(payload: str, *, scale: int = 4) -> bytes:
    """A PNG image of the QR code."""
    buffer = io.BytesIO()
    _code(payload).save(buffer, kind="png", scale=scale, light="#fff")
    return buffer.getvalue()
