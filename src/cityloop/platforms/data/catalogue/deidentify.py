"""De-identification of open data drawn from people's reports, enforced by the platform.

A producer of such a dataset hands over :class:`PointRecord` values; what is published is
decided here, never by the producer:
- points are snapped to the centre of a square grid cell (``open_data_grid_metres``);
- a (category, cell, day) group is published only when it holds at least ``k`` records
  (``open_data_min_cell_count``), so a lone report cannot be traced to a doorstep;
- free text is published only when a person accepted it in moderation;
- the columns are fixed here, so no reporter, contact or device-owner field can appear.
Every open dataset, whatever its shape, then passes :func:`screen_row`, which refuses personal
field names and blanks values that look like a phone number, e-mail address or identity number.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# Metres per degree of latitude (and of longitude at the equator).
_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class PointRecord:
    """One report-like thing at a point, as a producer gives it."""

    ref: str  # an id the public already sees (a case number), never a person's
    category: str
    lat: float
    lon: float
    at: datetime
    status: str = ""
    text: str = ""
    # A person accepted this text for publication (moderation); otherwise it is dropped.
    text_moderated: bool = False


POINTS_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "ref", "type": "string", "title": "Reference"},
        {"name": "category", "type": "string", "title": "Category"},
        {"name": "status", "type": "string", "title": "Status"},
        {"name": "day", "type": "date", "title": "Day"},
        {"name": "cell", "type": "string", "title": "Grid cell"},
        {"name": "lat", "type": "number", "title": "Cell centre latitude"},
        {"name": "lon", "type": "number", "title": "Cell centre longitude"},
        {"name": "description", "type": "string", "title": "Description", "x-free-text": True},
    ],
    "primaryKey": ["ref"],
}

CELLS_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "category", "type": "string", "title": "Category"},
        {"name": "day", "type": "date", "title": "Day"},
        {"name": "cell", "type": "string", "title": "Grid cell"},
        {"name": "lat", "type": "number", "title": "Cell centre latitude"},
        {"name": "lon", "type": "number", "title": "Cell centre longitude"},
        {"name": "count", "type": "integer", "title": "Count"},
    ],
}

# Field names no open dataset may carry, whatever its producer says (compared lower-cased,
# and as parts of names: "reporter_id" and "contact_phone" are refused too).
PERSONAL_NAME_PARTS = (
    "reporter",
    "contact",
    "phone",
    "email",
    "e_mail",
    "mobile",
    "id_number",
    "identity",
    "legal_name",
    "user_id",
    "username",
    "owner",
    "submitted_by",
    "tracking",
    "address",
    "birth",
    "person",
)

_LOOKS_PERSONAL = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+"  # an e-mail address
    r"|(?<!\d)1[3-9]\d{9}(?!\d)"  # a mainland mobile number
    r"|(?<![\d.])\+?(?:\d[ -]?){10,14}\d(?![\d.])"  # any other number of 11 digits or more
    r"|(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"  # a resident identity number
)


def cell_of(lat: float, lon: float, metres: float) -> tuple[str, float, float]:
    """The grid cell holding a point: its id and its centre, rounded to 6 places."""
    row = math.floor(lat * _METRES_PER_DEGREE / metres)
    # Columns are as wide as rows are tall at the cell's own latitude.
    centre_lat = (row + 0.5) * metres / _METRES_PER_DEGREE
    width = metres / (_METRES_PER_DEGREE * max(math.cos(math.radians(centre_lat)), 0.01))
    column = math.floor(lon / width)
    centre_lon = (column + 0.5) * width
    return f"{metres:g}m:{row}:{column}", round(centre_lat, 6), round(centre_lon, 6)


def _day(at: datetime) -> date:
    return at.date()


def _grouped(
    records: Iterable[PointRecord], metres: float
) -> list[tuple[PointRecord, tuple[str, float, float]]]:
    return [(record, cell_of(record.lat, record.lon, metres)) for record in records]


def points_to_cases(
    records: Iterable[PointRecord], *, k: int, metres: float
) -> list[dict[str, Any]]:
    """Published rows of individual records: snapped, and only from groups of at least ``k``."""
    placed = _grouped(records, metres)
    sizes = Counter((r.category, cell[0], _day(r.at)) for r, cell in placed)
    rows = []
    for record, (cell, lat, lon) in placed:
        if sizes[(record.category, cell, _day(record.at))] < k:
            continue
        rows.append(
            {
                "ref": record.ref,
                "category": record.category,
                "status": record.status,
                "day": _day(record.at).isoformat(),
                "cell": cell,
                "lat": lat,
                "lon": lon,
                "description": record.text if record.text_moderated else "",
            }
        )
    return rows


def points_to_cells(
    records: Iterable[PointRecord], *, k: int, metres: float
) -> list[dict[str, Any]]:
    """Counts per (category, cell, day), for the groups of at least ``k`` only."""
    centres: dict[str, tuple[float, float]] = {}
    sizes: Counter[tuple[str, str, date]] = Counter()
    for record, (cell, lat, lon) in _grouped(records, metres):
        centres[cell] = (lat, lon)
        sizes[(record.category, cell, _day(record.at))] += 1
    return [
        {
            "category": category,
            "day": day.isoformat(),
            "cell": cell,
            "lat": centres[cell][0],
            "lon": centres[cell][1],
            "count": count,
        }
        for (category, cell, day), count in sorted(sizes.items())
        if count >= k
    ]


def personal_field_names(schema: Mapping[str, Any]) -> list[str]:
    """The fields of a schema whose names say they hold people's data."""
    found = []
    for field in schema.get("fields", []):
        name = str(field.get("name", "")).lower().replace("-", "_")
        if any(part in name for part in PERSONAL_NAME_PARTS):
            found.append(str(field.get("name")))
    return found


def screen_row(row: dict[str, Any]) -> int:
    """Blank every text value of an open row that looks like contact or identity data, in
    place; how many were blanked."""
    blanked = 0
    for name, value in row.items():
        if isinstance(value, str) and _LOOKS_PERSONAL.search(value):
            row[name] = _LOOKS_PERSONAL.sub("***", value)
            blanked += 1
    return blanked
