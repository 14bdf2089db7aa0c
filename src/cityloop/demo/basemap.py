"""Read a city's optional ``basemap.geojson``: its roads, rivers and landmarks, checked.

A GeoJSON FeatureCollection in WGS84 longitude/latitude, as a GIS exports it. Each feature has
the properties ``kind`` (road, river or landmark), ``name`` and ``name_zh``, and for roads an
optional ``rank`` (1 for main roads, 2 for the others). Roads and rivers are LineStrings or
MultiLineStrings, landmarks are Points, and every point lies within the city's districts (with
a margin of about a kilometre, for a road that runs on past the boundary).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cityloop.demo.errors import Problems
from cityloop.demo.specs import JurisdictionSpec
from cityloop.platforms.application.geo.basemap import KINDS, MapFeatureSpec

FILE = "basemap.geojson"
MAX_NAME = 200
MARGIN_DEGREES = 0.01


def read_base_map(
    path: Path, jurisdictions: tuple[JurisdictionSpec, ...], problems: Problems
) -> tuple[MapFeatureSpec, ...]:
    """Every feature as a spec, in file order; problems are added rather than raised."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.add(FILE, "", "is not UTF-8 text")
        return ()
    except json.JSONDecodeError as exc:
        problems.add(FILE, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}")
        return ()
    features = data.get("features") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not (isinstance(features, list))
    ):
        problems.add(
            FILE, "", 'must be a GeoJSON FeatureCollection ({"type": ..., "features": [...]})'
        )
        return ()
    bounds = _bounds(jurisdictions)
    specs = [_feature(feature, n, bounds, problems) for n, feature in enumerate(features, 1)]
    return tuple(spec for spec in specs if spec is not None)


def _bounds(jurisdictions: tuple[JurisdictionSpec, ...]) -> tuple[float, ...] | None:
    points = [point for j in jurisdictions for point in j.polygon]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return (
        min(lons) - MARGIN_DEGREES,
        min(lats) - MARGIN_DEGREES,
        max(lons) + MARGIN_DEGREES,
        max(lats) + MARGIN_DEGREES,
    )


def _positions(geometry: dict[str, Any]) -> list[Any]:
    """The geometry's positions, flattened one level per nesting of its type."""
    coordinates = geometry.get("coordinates")
    if geometry.get("type") == "Point":
        return [coordinates]
    if geometry.get("type") == "LineString":
        return coordinates if isinstance(coordinates, list) else [None]
    if isinstance(coordinates, list) and all(isinstance(line, list) for line in coordinates):
        return [position for line in coordinates for position in line]
    return [None]


def _is_position(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and math.isfinite(v) for v in value)
    )


def _feature(
    feature: Any, number: int, bounds: tuple[float, ...] | None, problems: Problems
) -> MapFeatureSpec | None:
    label = f"feature {number}"
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict) or feature.get("type") != "Feature":
        problems.add(FILE, label, 'is not a GeoJSON Feature with properties ({"type": "Feature"})')
        return None
    if isinstance(props.get("name"), str) and props["name"].strip():
        label = f"{label} ({props['name']})"
    kind = props.get("kind")
    if kind not in KINDS:
        problems.add(FILE, label, f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        return None
    ok = True
    names: dict[str, str] = {}
    for key in ("name", "name_zh"):
        value = props.get(key)
        if not (isinstance(value, str) and value.strip() and len(value) <= MAX_NAME):
            problems.add(FILE, label, f"{key} must be text of 1-{MAX_NAME} characters")
            ok = False
        else:
            names[key] = value
    rank = props.get("rank", 2)
    if rank not in (1, 2):
        problems.add(FILE, label, f"rank must be 1 (a main road) or 2 (got {rank!r})")
        ok = False
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in KINDS[kind]:
        found = geometry.get("type") if isinstance(geometry, dict) else geometry
        problems.add(FILE, label, f"a {kind} must be a {' or '.join(KINDS[kind])} (got {found!r})")
        return None
    positions = _positions(geometry)
    if not positions or not all(_is_position(p) for p in positions):
        problems.add(FILE, label, "has coordinates that are not [longitude, latitude] numbers")
        return None
    if geometry["type"] != "Point" and any(len(line) < 2 for line in _lines(geometry)):
        problems.add(FILE, label, "has a line with fewer than two points")
        ok = False
    if bounds and not all(
        bounds[0] <= lon <= bounds[2] and bounds[1] <= lat <= bounds[3] for lon, lat in positions
    ):
        problems.add(FILE, label, "lies outside the city's districts")
        ok = False
    if not ok:
        return None
    return MapFeatureSpec(
        kind=kind, name=names["name"], name_zh=names["name_zh"], geometry=geometry, rank=rank
    )


def _lines(geometry: dict[str, Any]) -> list[list[Any]]:
    coordinates = geometry["coordinates"]
    return [coordinates] if geometry["type"] == "LineString" else list(coordinates)
