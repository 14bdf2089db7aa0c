"""Geo-queries: parse georel/geometry/coordinates, evaluate them with shapely, and give the
bounding box SQL uses to narrow candidates first. Distances are in metres on a local
equirectangular projection, accurate to well under 1 % at city scale."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points, transform

from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.texts import text

METRES_PER_DEGREE = 111_320.0
RELATIONS = ("near", "within", "contains", "intersects", "disjoint", "equals", "overlaps")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
MAX_COORDINATES_LENGTH = 100_000


@dataclass(frozen=True)
class GeoQuery:
    relation: str
    geometry: BaseGeometry
    max_distance: float | None = None
    min_distance: float | None = None
    geoproperty: str = "location"

    def bbox(self) -> tuple[float, float, float, float] | None:
        """(min_lon, min_lat, max_lon, max_lat) that every match's bbox must touch, or None
        when a match may lie anywhere (disjoint, or near with only a minimum distance)."""
        if self.relation == "disjoint":
            return None
        min_x, min_y, max_x, max_y = self.geometry.bounds
        if self.relation == "near":
            if self.max_distance is None:
                return None
            dlat = self.max_distance / METRES_PER_DEGREE
            cos = max(
                min(math.cos(math.radians(abs(min_y))), math.cos(math.radians(abs(max_y)))), 0.01
            )
            dlon = self.max_distance / (METRES_PER_DEGREE * cos)
            return (min_x - dlon, min_y - dlat, max_x + dlon, max_y + dlat)
        return (min_x, min_y, max_x, max_y)


def valid_geojson(value: Any) -> BaseGeometry:
    """A GeoJSON geometry as shapely, or a 400 naming what is wrong."""
    if not isinstance(value, dict) or value.get("type") not in GEOMETRIES:
        raise bad_data(text("geometry_kinds", kinds=", ".join(GEOMETRIES)))
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, list):
        raise bad_data(text("geometry_coordinates"))
    try:
        geometry = shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise bad_data(text("geometry_invalid", kind=value.get("type"), reason=exc)) from exc
    if geometry.is_empty:
        raise bad_data(text("geometry_empty"))
    min_x, min_y, max_x, max_y = geometry.bounds
    if not all(math.isfinite(v) for v in (min_x, min_y, max_x, max_y)):
        raise bad_data(text("coordinates_not_finite"))
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise bad_data(text("coordinates_out_of_range"))
    return geometry


def parse_geoquery(
    georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str | None
) -> GeoQuery | None:
    """A geo-query from its request parameters, checked; None when none is given."""
    if not georel and not geometry and not coordinates:
        return None
    for name, value in (("georel", georel), ("geometry", geometry), ("coordinates", coordinates)):
        if not isinstance(value, str | None):
            raise bad_data(text("geo_member_not_string", name=name))
    if not georel or not geometry or not coordinates:
        raise bad_data(text("geo_query_incomplete"))
    if len(coordinates) > MAX_COORDINATES_LENGTH:
        raise bad_data(text("coordinates_too_long"))
    parts = [part.strip() for part in georel.split(";")]
    relation = parts[0]
    if relation not in RELATIONS:
        raise bad_data(text("georel_unknown", relation=relation, relations=", ".join(RELATIONS)))
    max_distance = min_distance = None
    if len(parts) > 2:
        raise bad_data(text("near_one_distance"))
    for modifier in parts[1:]:
        name, sep, number = modifier.partition("==")
        if relation != "near" or not sep or name not in ("maxDistance", "minDistance"):
            raise bad_data(text("georel_modifier", modifier=modifier))
        try:
            distance = float(number)
        except ValueError as exc:
            raise bad_data(text("distance_not_number", name=name)) from exc
        if not math.isfinite(distance) or distance <= 0:
            # 4.10: a PositiveNumber, zero excluded.
            raise bad_data(text("distance_not_positive", name=name))
        if name == "maxDistance":
            max_distance = distance
        else:
            min_distance = distance
    if relation == "near" and max_distance is None and min_distance is None:
        raise bad_data(text("near_needs_distance"))
    try:
        parsed = json.loads(coordinates)
    except (ValueError, RecursionError) as exc:
        raise bad_data(text("coordinates_not_array")) from exc
    shape_ = valid_geojson({"type": geometry, "coordinates": parsed})
    return GeoQuery(relation, shape_, max_distance, min_distance, geoproperty or "location")


def _to_metres(origin: Point) -> Any:
    cos = math.cos(math.radians(origin.y))

    def project(x: Any, y: Any, z: Any = None) -> tuple[Any, Any]:
        return ((x - origin.x) * METRES_PER_DEGREE * cos, (y - origin.y) * METRES_PER_DEGREE)

    return project


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two points."""
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = rlat2 - rlat1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def distance_metres(origin: Point, geometry: BaseGeometry) -> float:
    """Distance in metres from a point to a geometry."""
    if isinstance(geometry, Point):
        return haversine(origin.x, origin.y, geometry.x, geometry.y)
    project = _to_metres(origin)
    return float(transform(project, origin).distance(transform(project, geometry)))


def matches(query: GeoQuery, geometry: BaseGeometry) -> bool:
    """Does an entity's geometry stand in ``query``'s relation to the query geometry?"""
    target = query.geometry
    if query.relation == "near":
        distance = (
            distance_metres(target, geometry)
            if isinstance(target, Point)
            else distance_metres(nearest_points(geometry, target)[0], target)
        )
        if query.max_distance is not None and distance > query.max_distance:
            return False
        return not (query.min_distance is not None and distance < query.min_distance)
    if query.relation == "within":
        return bool(geometry.within(target))
    if query.relation == "contains":
        return bool(geometry.contains(target))
    if query.relation == "intersects":
        return bool(geometry.intersects(target))
    if query.relation == "disjoint":
        return bool(geometry.disjoint(target))
    if query.relation == "equals":
        return bool(geometry.equals(target))
    return bool(geometry.overlaps(target))


def evaluate_georel(query: GeoQuery, attrs: dict[str, Any], geoproperty_iri: str) -> bool:
    """Pure: does an entity's (expanded) GeoProperty satisfy the geo-query?"""
    attribute = attrs.get(geoproperty_iri)
    instances = attribute if isinstance(attribute, list) else [attribute]
    for instance in instances:
        if isinstance(instance, dict) and isinstance(instance.get("value"), dict):
            try:
                geometry = shape(instance["value"])
            except Exception:
                continue
            if matches(query, geometry):
                return True
    return False
