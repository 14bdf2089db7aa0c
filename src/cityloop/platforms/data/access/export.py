"""A data subject's access log as a download: CSV headed and worded in the reader's language,
or JSON with every code's English and Chinese names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi.responses import Response

from cityloop.base.db import iso, utcnow
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.access import catalogue
from cityloop.platforms.data.access.filters import AccessFilter
from cityloop.platforms.data.access.models import DataAccess
from cityloop.platforms.data.access.responses import DataAccessExport, access_out

Format = Literal["csv", "json"]
Lang = Literal["en", "zh-CN"]
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""


def _row(
    entry: DataAccess, departments: dict[str, Department], lang: Lang, zone: ZoneInfo
) -> list[str]:
    zh = lang == "zh-CN"
    department = departments.get(entry.actor_department or "")
    consent = f"{entry.consent_id} {_local(entry.consent_at, zone)}" if entry.consent_id else ""
    values = [
        _local(entry.at, zone),
        (department.name_zh or department.name if zh else department.name) if department else "",
        catalogue.name_in(catalogue.ROLES, entry.actor_role, lang),
        catalogue.name_in(catalogue.PURPOSES, entry.purpose, lang),
        str(entry.grant_id) if entry.grant_id is not None else "",
        ("、" if zh else "; ").join(
            catalogue.name_in(catalogue.FIELDS, f, lang) for f in entry.fields
        ),
        catalogue.name_in(catalogue.LEGAL_BASES, entry.legal_basis, lang),
        consent.strip(),
        entry.reference,
    ]
    return [_cell(value) for value in values]


def csv_text(
    entries: Iterable[DataAccess], *, departments: dict[str, Department], lang: Lang, zone: ZoneInfo
) -> str:
    """The entries as CSV: a header row, then one row per entry, in ``lang``."""
    out = io.StringIO()
    # The byte-order mark lets spreadsheet programs read the Chinese text as UTF-8.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [catalogue.name_in(catalogue.EXPORT_COLUMNS, c, lang) for c in catalogue.EXPORT_COLUMNS]
    )
    for entry in entries:
        writer.writerow(_row(entry, departments, lang, zone))
    return out.getvalue()


def download(
    entries: Iterable[DataAccess],
    *,
    subject: str,
    filters: AccessFilter,
    departments: dict[str, Department],
    format: Format,
    lang: Lang,
    zone: ZoneInfo,
) -> Response:
    """The entries as an attachment named after the subject and the day."""
    now = utcnow()
    name = f"data-access-{subject.replace(':', '-')}-{now.astimezone(zone).date().isoformat()}"
    headers = {
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="{name}.{format}"',
    }
    if format == "csv":
        text = csv_text(entries, departments=departments, lang=lang, zone=zone)
        return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
    items = [access_out(entry, departments) for entry in entries]
    body = DataAccessExport(
        subject=subject, exported_at=iso(now) or "", filters=filters.described(),
        total=len(items), items=items,
    )  # fmt: skip
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)
