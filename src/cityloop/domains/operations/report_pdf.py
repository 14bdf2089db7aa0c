"""The monthly report as a PDF: an HTML page (plain strings, every value escaped) printed by
WeasyPrint, with a day-by-day chart drawn here as inline SVG (no script runs in a PDF).

Chinese needs a CJK font: the style names Debian's "WenQuanYi Micro Hei" (fonts-wqy-microhei,
installed by `make browser`) after the usual sans-serif families. WeasyPrint needs Pango
(libpango-1.0-0, libpangoft2-1.0-0: `make system-packages`).
"""

from __future__ import annotations

from html import escape
from typing import Any

from PIL import ImageFile

from cityloop.domains.operations import public
from cityloop.domains.operations.messages import figure_label, label
from cityloop.domains.operations.report_files import RATES, month_label, place_name

STYLE = """
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: counter(page) " / " counter(pages);
  font-size: 8pt; color: #52606d; } }
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
  font-size: 9.5pt; color: #1f2933; }
h1 { font-size: 17pt; margin: 0 0 4pt; color: #0b4f6c; }
h2 { font-size: 12pt; margin: 14pt 0 4pt; color: #0b4f6c; border-bottom: 1px solid #cbd2d9; }
p { margin: 2pt 0 6pt; }
.note { color: #52606d; font-size: 8.5pt; }
table { border-collapse: collapse; width: 100%; margin-top: 4pt; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 3pt 4pt; text-align: right; }
th:first-child, td:first-child, .text { text-align: left; }
th { background: #f0f4f8; font-weight: bold; }
.withheld { color: #7b8794; font-style: italic; }
svg text { font-family: "DejaVu Sans", "WenQuanYi Micro Hei", sans-serif; }
"""

REGISTERED_COLOUR, CLOSED_COLOUR = "#2680c2", "#3ebd93"

# WeasyPrint is imported here, when the app is assembled and no request runs yet, because its
# import turns on Pillow's global LOAD_TRUNCATED_IMAGES, which the media platform refuses to
# work under (it must reject truncated uploads): the flag is put back at once.
try:
    from weasyprint import HTML
except OSError:  # no Pango on this machine (`make system-packages`): no PDF, the rest works
    HTML = None
finally:
    ImageFile.LOAD_TRUNCATED_IMAGES = False


def shown(value: Any, name: str, withheld: list[str], locale: str) -> str:
    """A figure as a reader sees it: rates in per cent, a dash for none, "withheld" said."""
    if name in withheld:
        return f'<span class="withheld">{escape(label("withheld", locale))}</span>'
    if value is None:
        return "—"
    if name in RATES:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _change(now: Any, then: Any, name: str) -> str:
    if now is None or then is None:
        return "—"
    delta = now - then
    if name in RATES:
        return f"{delta * 100:+.1f} pp"
    return f"{delta:+.1f}" if isinstance(delta, float) else f"{delta:+d}"


def trend_svg(days: list[dict[str, Any]], locale: str, month: str) -> str:
    """Registered and closed cases per day as two bar series, drawn as SVG by hand."""
    width, height, left, bottom, top = 520, 170, 34, 22, 22
    plot_w, plot_h = width - left - 8, height - bottom - top
    highest = max([1] + [max(d["registered"], d["closed"]) for d in days])
    step = max(1, -(-highest // 4))  # four gridlines, whole numbers
    ceiling = step * 4
    slot = plot_w / max(1, len(days))
    bar = max(1.0, slot * 0.38)
    title = escape(label("trend_chart", locale, month=month_label(month, locale)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" style="width: 100%; height: auto" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
    ]
    for index in range(5):
        y = top + plot_h - plot_h * index / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="7" text-anchor="end" '
            f'fill="#52606d">{step * index}</text>'
        )
    for index, day in enumerate(days):
        x = left + slot * index + slot * 0.1
        for offset, value, colour in (
            (0, day["registered"], REGISTERED_COLOUR),
            (bar, day["closed"], CLOSED_COLOUR),
        ):
            h = plot_h * value / ceiling
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"/>'
            )
        if index % 5 == 0 or index == len(days) - 1:
            parts.append(
                f'<text x="{x + bar:.1f}" y="{height - 8}" font-size="7" text-anchor="middle" '
                f'fill="#52606d">{int(day["day"][8:])}</text>'
            )
    legend_x = left
    for name, colour in (("registered", REGISTERED_COLOUR), ("closed_in_period", CLOSED_COLOUR)):
        text = escape(figure_label(name, locale))
        parts.append(
            f'<rect x="{legend_x}" y="6" width="9" height="9" fill="{colour}"/>'
            f'<text x="{legend_x + 13}" y="14" font-size="8" fill="#1f2933">{text}</text>'
        )
        legend_x += 16 + 7 * len(text) * (2 if locale == "zh-CN" else 1)
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[str]], names: int = 1) -> str:
    """A table whose first ``names`` columns are words (left) and the rest figures (right)."""

    def cells(tag: str, row: list[str]) -> str:
        return "".join(
            f'<{tag} class="text">{cell}</{tag}>' if index < names else f"<{tag}>{cell}</{tag}>"
            for index, cell in enumerate(row)
        )

    head = cells("th", [escape(h) for h in header])
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(report: dict[str, Any], locale: str) -> str:
    """The report as one HTML page in ``locale`` (values escaped; markup only from here)."""
    month, previous = report["month"], report["previous_month"]
    this_name, previous_name = month_label(month, locale), month_label(previous, locale)
    city, before = report["city"], report["previous"]
    summary = [
        [
            escape(figure_label(name, locale)),
            shown(city[name], name, city["withheld"], locale),
            shown(before[name], name, before["withheld"], locale),
            _change(city[name], before[name], name),
        ]
        for name in public.CITY_FIGURES
    ]
    columns = ("registered", "closed", "closure_rate", "on_time_closure_rate", "overdue")
    districts = [
        [escape(place_name(row, locale))]
        + [shown(row["figures"][n], n, row["figures"]["withheld"], locale) for n in columns]
        for row in report["districts"]
    ]
    departments = [
        [
            str(row["rank"]) if row["rank"] else "—",
            escape(place_name(row, locale)),
            f"{row['score']:.1f}" if row["score"] is not None else "—",
            escape(row["tier_names"][locale])
            if row["tier_names"]
            else escape(label("not_ranked", locale, threshold=str(report["threshold"]))),
        ]
        + [shown(row["figures"][n], n, row["figures"]["withheld"], locale) for n in columns]
        for row in report["departments"]
    ]
    spots = [
        [
            escape(
                spot["street_name_zh"]
                if locale == "zh-CN" and spot["street_name_zh"]
                else spot["street_name"]
            ),
            escape(
                spot["category_name_zh"]
                if locale == "zh-CN" and spot["category_name_zh"]
                else spot["category_name"]
            ),
            str(spot["cases"]),
        ]
        for spot in report["hotspots"]
    ]
    figure_heads = [figure_label(n, locale) for n in columns]
    parts = [
        f'<!DOCTYPE html><html lang="{escape(locale)}"><head><meta charset="utf-8">',
        f"<title>{escape(label('title', locale, month=this_name))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(label('title', locale, month=this_name))}</h1>",
        f"<p>{escape(label('intro', locale, month=this_name, previous=previous_name))}</p>",
    ]
    if not report["complete"]:
        parts.append(f'<p class="note">{escape(label("partial", locale))}</p>')
    parts += [
        f"<h2>{escape(label('summary', locale))}</h2>",
        _table(
            [label("figure", locale), this_name, previous_name, label("change", locale)], summary
        ),
        f"<h2>{escape(label('trend', locale))}</h2>",
        trend_svg(report["days"], locale, month),
        f"<h2>{escape(label('districts', locale))}</h2>",
        _table([label("district", locale), *figure_heads], districts),
        f"<h2>{escape(label('departments', locale))}</h2>",
        _table(
            [
                label("rank", locale),
                label("department", locale),
                label("score", locale),
                label("tier", locale),
                *figure_heads,
            ],
            departments,
            names=2,
        ),
        f"<h2>{escape(label('hotspots', locale))}</h2>",
    ]
    if spots:
        parts.append(
            _table(
                [label("street", locale), label("category", locale), label("cases", locale)],
                spots,
                names=2,
            )
        )
    else:
        threshold = str(max(5, report["threshold"]))
        parts.append(f"<p>{escape(label('hotspots_none', locale, threshold=threshold))}</p>")
    privacy = (
        label("staff_note", locale)
        if report["staff"]
        else label("privacy", locale, threshold=str(report["threshold"]))
    )
    parts += [
        f'<p class="note">{escape(privacy)}</p>',
        f'<p class="note">{escape(label("generated", locale, at=report["generated_at"]))}</p>',
        "</body></html>",
    ]
    return "".join(parts)


def pdf_bytes(report: dict[str, Any], locale: str) -> bytes:
    """The report printed to PDF by WeasyPrint."""
    if HTML is None:
        raise RuntimeError("WeasyPrint cannot load Pango: run `make system-packages`")
    document: bytes = HTML(string=report_html(report, locale)).write_pdf()
    return document
