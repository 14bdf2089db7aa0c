"""The monthly report as CSV and XLSX, in the reader's language: every heading is a message
code (messages.REPORT and messages.FIGURES), every figure a number (rates as fractions, so a
spreadsheet can compute with them; withheld figures are left empty in the CSV and say so in
the workbook)."""

from __future__ import annotations

import calendar
import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from cityloop.domains.operations import public
from cityloop.domains.operations.messages import figure_label, label

RATES = {
    "closure_rate",
    "on_time_closure_rate",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
}


def place_name(row: dict[str, Any], locale: str) -> str:
    """A district's or department's name in ``locale`` (the merged row has its own)."""
    if row["key"] == public.OTHER:
        return label("other_districts", locale)
    if locale == "zh-CN" and row.get("name_zh"):
        return str(row["name_zh"])
    return str(row.get("name") or row["key"])


def month_label(month: str, locale: str) -> str:
    """2026-11 as "November 2026" or "2026年11月"."""
    year, number = month.split("-")
    if locale == "zh-CN":
        return f"{year}年{int(number)}月"
    return f"{calendar.month_name[int(number)]} {year}"


def _districts(report: dict[str, Any], locale: str) -> list[dict[str, Any]]:
    city = {"key": "*", "name": label("city", locale), "figures": report["city"]}
    return [city, *report["districts"]]


def csv_bytes(report: dict[str, Any], locale: str) -> bytes:
    """The summary (the city) and one row per district, UTF-8 with a BOM so that Excel reads
    Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = public.CITY_FIGURES
    writer.writerow(
        [label("month", locale), label("scope", locale), label("code", locale)]
        + [label("name", locale)]
        + [figure_label(name, locale) for name in names]
    )
    for row in _districts(report, locale):
        scope = label("city" if row["key"] == "*" else "district", locale)
        name = label("city", locale) if row["key"] == "*" else place_name(row, locale)
        values = [row["figures"].get(name_) for name_ in names]
        writer.writerow(
            [report["month"], scope, row["key"], name]
            + ["" if value is None else value for value in values]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: Any, name: str, withheld: list[str], locale: str) -> Any:
    if name in withheld:
        return label("withheld", locale)
    return value


def xlsx_bytes(report: dict[str, Any], locale: str) -> bytes:
    """A workbook with four sheets: summary, districts, departments and the daily trend."""
    book = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list[Any]], first: bool = False) -> None:
        page = book.active if first else book.create_sheet()
        assert page is not None
        page.title = label(title, locale)[:31]
        page.append(header)
        for cell in page[1]:
            cell.font = bold
        for row in rows:
            page.append(row)
        for column, cells in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", page.columns, strict=False):
            widest = max(len(str(c.value or "")) for c in cells)
            page.column_dimensions[column].width = min(40, max(10, widest + 2))
        for row in page.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, float) and str(header[cell.column - 1]) in _rate_names(
                    locale
                ):
                    cell.number_format = "0.0%"

    city, before = report["city"], report["previous"]
    summary = []
    for name in public.CITY_FIGURES:
        now, then = city[name], before[name]
        change = None if now is None or then is None else round(now - then, 4)
        summary.append(
            [
                figure_label(name, locale),
                _cell(now, name, city["withheld"], locale),
                _cell(then, name, before["withheld"], locale),
                change,
            ]
        )
    sheet(
        "sheet_summary",
        [
            label("figure", locale),
            month_label(report["month"], locale),
            month_label(report["previous_month"], locale),
            label("change", locale),
        ],
        summary,
        first=True,
    )
    figures = tuple(report["unit_figures"])
    sheet(
        "sheet_districts",
        [label("code", locale), label("district", locale)]
        + [figure_label(n, locale) for n in figures],
        [
            [row["key"], place_name(row, locale)]
            + [_cell(row["figures"][n], n, row["figures"]["withheld"], locale) for n in figures]
            for row in report["districts"]
        ],
    )
    sheet(
        "sheet_departments",
        [
            label("rank", locale),
            label("code", locale),
            label("department", locale),
            label("score", locale),
            label("tier", locale),
        ]
        + [figure_label(n, locale) for n in figures],
        [
            [
                row["rank"],
                row["key"],
                place_name(row, locale),
                row["score"],
                row["tier_names"][locale] if row["tier_names"] else None,
            ]
            + [_cell(row["figures"][n], n, row["figures"]["withheld"], locale) for n in figures]
            for row in report["departments"]
        ],
    )
    sheet(
        "sheet_trend",
        [
            label("day", locale),
            figure_label("registered", locale),
            figure_label("closed_in_period", locale),
        ],
        [[day["day"], day["registered"], day["closed"]] for day in report["days"]],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rate_names(locale: str) -> set[str]:
    return {figure_label(name, locale) for name in RATES}
