"""Jurisdiction lookup: point-in-polygon over an STRtree, plus a street-name gazetteer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shapely import STRtree, union_all
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.lookups import Lookup
from cityloop.platforms.application.geo.models import Jurisdiction

LEVELS = ("district", "street", "grid")
EARTH_RADIUS_M = 6_371_008.8
# How long a geo index is trusted before asking whether its table changed: an import drops it
# at once, and nothing else changes a map.
GEO_RECHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    name_zh: str


@dataclass(frozen=True)
class Placement:
    """Where a point falls: always a district; street and grid where they are mapped."""

    district: Area
    street: Area | None
    grid: Area | None


class JurisdictionIndex:
    def __init__(self, rows: list[Jurisdiction]) -> None:
        self.areas: dict[str, Area] = {}
        self.label_points: dict[str, tuple[float, float]] = {}
        self._trees: dict[str, tuple[STRtree, list[str], list[BaseGeometry]]] = {}
        for level in LEVELS:
            codes: list[str] = []
            geoms: list[BaseGeometry] = []
            for row in rows:
                if row.level == level:
                    codes.append(row.code)
                    geoms.append(shape(row.geometry))
            self._trees[level] = (STRtree(geoms), codes, geoms)
        districts = self._trees["district"][2]
        self.bounds: tuple[float, float, float, float] | None = (
            tuple(union_all(districts).bounds) if districts else None  # type: ignore[assignment]
        )
        for row in rows:
            self.areas[row.code] = Area(row.code, row.name, row.name_zh)
            self.label_points[row.code] = (row.label_lon, row.label_lat)

    def _find(self, level: str, point: Point) -> Area | None:
        tree, codes, geoms = self._trees[level]
        # covers() so a point on a shared edge still belongs somewhere; lowest code wins ties.
        hits = sorted(codes[i] for i in tree.query(point) if geoms[i].covers(point))
        return self.areas[hits[0]] if hits else None

    def place(self, lon: float, lat: float) -> Placement | None:
        point = Point(lon, lat)
        district = self._find("district", point)
        if district is None:
            return None
        return Placement(district, self._find("street", point), self._find("grid", point))


_indexes: Lookup[JurisdictionIndex] = Lookup(
    fingerprint=lambda session: tuple(
        session.execute(
            select(func.count(Jurisdiction.code), func.max(Jurisdiction.updated_at))
        ).one()
    ),
    build=lambda session: JurisdictionIndex(list(session.scalars(select(Jurisdiction)))),
    recheck_seconds=GEO_RECHECK_SECONDS,
)


def jurisdiction_index(session: Session) -> JurisdictionIndex:
    """The index for this database, rebuilt only when the jurisdictions change."""
    return _indexes.get(session)


def forget_cached_index() -> None:
    """Drop cached indexes so the next lookup reads the map afresh (after an import)."""
    _indexes.forget()


def place_point(session: Session, *, lon: float, lat: float) -> Placement | None:
    """The district, street and grid cell this point falls in; None outside the city."""
    return jurisdiction_index(session).place(lon, lat)


def upsert_jurisdiction(
    session: Session,
    *,
    code: str,
    level: str,
    name: str,
    name_zh: str,
    parent_code: str | None,
    geometry: dict[str, Any],
) -> Jurisdiction:
    """Add or replace one district, street or grid cell with its polygon and label point."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level}")
    geom = shape(geometry)
    if not geom.is_valid or geom.is_empty:
        raise ValueError(f"{code}: invalid polygon")
    label = geom.representative_point()
    row = session.get(Jurisdiction, code) or Jurisdiction(code=code)
    row.level, row.name, row.name_zh, row.parent_code = level, name, name_zh, parent_code
    row.geometry = mapping(geom)
    row.label_lon, row.label_lat = label.x, label.y
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def feature_collection(session: Session, *, level: str) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the jurisdictions at one level, by code."""
    rows = session.scalars(
        select(Jurisdiction).where(Jurisdiction.level == level).order_by(Jurisdiction.code)
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row.code,
                "geometry": row.geometry,
                "properties": {
                    "code": row.code,
                    "level": row.level,
                    "name": row.name,
                    "name_zh": row.name_zh,
                    "parent_code": row.parent_code,
                    "label": [row.label_lon, row.label_lat],
                },
            }
            for row in rows
        ],
    }


def geocode(session: Session, *, text: str) -> tuple[float, float, Area] | None:
    """Resolve an address string to the label point of the most specific named area in it."""
    # A small gazetteer, not a street-number geocoder: enough for a hotline operator's or an
    # Open311 client's "Lotus Street, Old Town" and honest about its limits (no match means no
    # location).
    needle = text.strip().lower()
    if not needle:
        return None
    index = jurisdiction_index(session)
    best: tuple[int, str] | None = None
    order = {"grid": 3, "street": 2, "district": 1}
    rows = session.execute(select(Jurisdiction.code, Jurisdiction.level)).all()
    levels = dict(rows)
    for code, area in index.areas.items():
        for name in (area.name.lower(), area.name_zh):
            if name and name in needle:
                rank = order[levels[code]] * 1000 + len(name)
                if best is None or rank > best[0]:
                    best = (rank, code)
    if best is None:
        return None
    lon, lat = index.label_points[best[1]]
    return lon, lat, index.areas[best[1]]


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def bounding_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) enclosing a circle, for an index-friendly prefilter."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def city_bounds(session: Session) -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) of all districts, for centring maps."""
    return jurisdiction_index(session).bounds
