"""QR codes of presentations: the PNG's modules are the QR code of the payload, the SVG is a
document a page can show, and what a scanner reads leads back to the presentation."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import segno
from PIL import Image

from cityloop.platforms.application.credentials import service
from cityloop.platforms.application.credentials.qr import (
    presentation_from_qr,
    qr_payload,
    qr_png,
    qr_svg,
)
from tests.support.city import City
from tests.support.credentials import issue


def test_a_presentation_fits_a_qr_code_and_the_png_draws_its_modules(city: City) -> None:
    shown = service.present(issue(city).sd_jwt, disclose=["holder_name", "permit_valid"])
    payload = qr_payload(shown, verify_url="https://riverton.example/verify")
    code = segno.make_qr(payload, error="m", boost_error=False)
    assert code.version <= 30, (code.version, len(payload))  # scans from a phone screen
    image = Image.open(io.BytesIO(qr_png(payload, scale=3))).convert("L")
    border = 4  # segno's quiet zone, in modules
    size = len(code.matrix)
    assert image.size == ((size + 2 * border) * 3,) * 2
    drawn = [
        [image.getpixel(((x + border) * 3 + 1, (y + border) * 3 + 1)) < 128 for x in range(size)]
        for y in range(size)
    ]
    assert drawn == [[bool(m) for m in row] for row in code.matrix]


def test_the_svg_is_a_titled_document(city: City) -> None:
    shown = service.present(issue(city).sd_jwt, disclose=[])
    svg = qr_svg(shown, title="Street-vending permit 摊贩许可")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Street-vending permit 摊贩许可" in svg and "<?xml" not in svg


def test_a_scanned_payload_leads_back_to_the_presentation(city: City) -> None:
    shown = service.present(issue(city).sd_jwt, disclose=["permit_valid"])
    assert presentation_from_qr(qr_payload(shown)) == shown
    linked = qr_payload(shown, verify_url="https://riverton.example/verify")
    assert linked.startswith("https://riverton.example/verify#")
    assert presentation_from_qr(linked) == shown
    assert presentation_from_qr("  " + shown + "\n") == shown
