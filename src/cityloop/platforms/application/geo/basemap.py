"""The city's own base map: its roads, rivers and landmarks, named in English and Chinese.

The case maps draw it under the district, street and grid outlines, so a citizen placing a pin
sees which road it is on with no tile server and no internet. The same features say where a
point is in words: the nearest road within ``ROAD_RADIUS_M`` and the nearest landmark within
``LANDMARK_RADIUS_M`` ("Temple Road, near City Hall").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.lookups import Lookup
from cityloop.platforms.application.geo.models import MapFeature
from cityloop.platforms.application.geo.service import GEO_RECHECK_SECONDS, distance_m

# Each kind of feature and the GeoJSON geometry types it may have.
KINDS: dict[str, tuple[str, ...]] = {
    "road": ("LineString", "MultiLineString"),
    "river": ("LineString", "MultiLineString"),
    "landmark": ("Point",),
}
ROAD_RADIUS_M = 150.0
LANDMARK_RADIUS_M = 400.0


@dataclass(frozen=True)
class MapFeatureSpec:
    kind: str
    name: str
    name_zh: str
    geometry: dict[str, Any]
    rank: int = 2


@dataclass(frozen=True)
class Nearby:
    """A named feature near a point, and how far it is."""

    name: str
    name_zh: str
    distance_m: float


@dataclass(frozen=True)
class PointAddress:
    """Where a point is, in words: the road it is on and the landmark it is near (either may
    be missing; both missing means there is nothing to say)."""

    road: Nearby | None
    landmark: Nearby | None


class BaseMapIndex:
    def __init__(self, rows: Iterable[MapFeature]) -> None:
        self.roads: list[tuple[MapFeature, BaseGeometry]] = []
        self.landmarks: list[tuple[MapFeature, BaseGeometry]] = []
        for row in rows:
            if row.kind == "road":
                self.roads.append((row, shape(row.geometry)))
            elif row.kind == "landmark":
                self.landmarks.append((row, shape(row.geometry)))
        self._road_tree = STRtree([geometry for _, geometry in self.roads])
        self._landmark_tree = STRtree([geometry for _, geometry in self.landmarks])

    @staticmethod
    def _nearest(
        tree: STRtree, items: list[tuple[MapFeature, BaseGeometry]], point: Point, radius_m: float
    ) -> Nearby | None:
        if not items:
            return None
        # Degrees are not metres, so take the few nearest in degrees and measure each properly.
        window = radius_m / 111_000 / max(math.cos(math.radians(point.y)), 0.1)
        best: Nearby | None = None
        for i in tree.query(point.buffer(window)):
            row, geometry = items[int(i)]
            on_feature = nearest_points(geometry, point)[0]
            metres = distance_m(point.x, point.y, on_feature.x, on_feature.y)
            if metres <= radius_m and (best is None or metres < best.distance_m):
                best = Nearby(row.name, row.name_zh, round(metres, 1))
        return best

    def describe(self, lon: float, lat: float) -> PointAddress:
        point = Point(lon, lat)
        return PointAddress(
            road=self._nearest(self._road_tree, self.roads, point, ROAD_RADIUS_M),
            landmark=self._nearest(self._landmark_tree, self.landmarks, point, LANDMARK_RADIUS_M),
        )


_indexes: Lookup[BaseMapIndex] = Lookup(
    fingerprint=lambda session: tuple(
        session.execute(select(func.count(MapFeature.id), func.max(MapFeature.updated_at))).one()
    ),
    build=lambda session: BaseMapIndex(session.scalars(select(MapFeature))),
    recheck_seconds=GEO_RECHECK_SECONDS,
)


def base_map_index(session: Session) -> BaseMapIndex:
    """The index for this database, rebuilt only when the base map changes."""
    return _indexes.get(session)


def replace_base_map(session: Session, *, features: Iterable[MapFeatureSpec]) -> int:
    """Make the base map exactly ``features`` (a city's map is loaded whole); how many."""
    session.execute(delete(MapFeature))
    now = utcnow()
    rows = [
        MapFeature(
            kind=spec.kind,
            name=spec.name,
            name_zh=spec.name_zh,
            rank=spec.rank,
            geometry=spec.geometry,
            updated_at=now,
        )
        for spec in features
    ]
    session.add_all(rows)
    session.flush()
    _indexes.forget()
    return len(rows)


def base_map(session: Session) -> dict[str, Any]:
    """The base map as a GeoJSON FeatureCollection: rivers, then roads, then landmarks."""
    order = {"river": 0, "road": 1, "landmark": 2}
    rows = sorted(
        session.scalars(select(MapFeature)), key=lambda r: (order.get(r.kind, 3), r.rank, r.id)
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row.id,
                "geometry": row.geometry,
                "properties": {
                    "kind": row.kind,
                    "name": row.name,
                    "name_zh": row.name_zh,
                    "rank": row.rank,
                },
            }
            for row in rows
        ],
    }


def describe_point(session: Session, *, lon: float, lat: float) -> PointAddress:
    """The road a point is on and the landmark it is near, where the base map has them."""
    return base_map_index(session).describe(lon, lat)
