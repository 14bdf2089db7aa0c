"""A licence as a PDF to print or send: its name, holder and validity in Chinese and English,
the claims the holder chose to show, and the QR code of that same presentation, which anyone can
scan and verify. Chinese is set in the PDF standard's CJK font (STSong-Light), which every PDF
reader supplies, so the file needs no embedded font."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from cityloop.platforms.application.credentials.qr import qr_png

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "—"


def licence_pdf(
    *,
    name: str,
    name_zh: str,
    number: str,
    issuer: str,
    issuer_zh: str,
    issued_at: datetime,
    expires_at: datetime | None,
    claims: dict[str, Any],
    qr_text: str,
) -> bytes:
    """One A4 page: the licence, the disclosed claims and the presentation's QR code."""
    buffer = io.BytesIO()
    page = Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(f"{name_zh} {name} {number}")
    width, height = A4
    y = height - 30 * mm
    page.setFont(FONT, 22)
    page.drawCentredString(width / 2, y, name_zh)
    page.setFont(FONT, 13)
    page.drawCentredString(width / 2, y - 9 * mm, name)
    y -= 25 * mm
    rows = [
        ("编号 Number", number),
        ("发证机关 Issued by", f"{issuer_zh} {issuer}"),
        ("发证日期 Issued", _day(issued_at)),
        ("有效期至 Valid until", _day(expires_at)),
        *((key, str(value)) for key, value in claims.items()),
    ]
    page.setFont(FONT, 11)
    for label, value in rows:
        page.drawString(25 * mm, y, label)
        page.drawString(75 * mm, y, value[:70])
        y -= 8 * mm
    size = 70 * mm
    image = ImageReader(io.BytesIO(qr_png(qr_text, scale=6)))
    page.drawImage(image, (width - size) / 2, max(y - size - 5 * mm, 35 * mm), size, size)
    page.setFont(FONT, 9)
    page.drawCentredString(
        width / 2, 25 * mm, "扫码核验电子证照 · Scan to verify this licence (works offline too)"
    )
    page.showPage()
    page.save()
    return buffer.getvalue()
