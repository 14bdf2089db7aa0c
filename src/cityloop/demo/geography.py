"""Read a city's ``jurisdictions.geojson``: districts, streets and grid cells, checked.

The file is a GeoJSON FeatureCollection in WGS84 longitude/latitude (what QGIS writes when a
layer is exported as GeoJSON in EPSG:4326). Each feature is one jurisdiction with the
properties ``code``, ``level``, ``parent``, ``name`` and ``name_zh``; other properties (a
QGIS ``fid``, an area column) are ignored. Coordinates are kept exactly as written, so a
point-in-polygon answer is the same as in the GIS the file came from.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import shapely
from shapely import STRtree
from shapely.geometry import Polygon

from cityloop.demo.errors import Problems
from cityloop.demo.specs import JurisdictionSpec
from cityloop.platforms.application.geo.service import LEVELS

FILE = "jurisdictions.geojson"
PARENT_LEVEL: dict[str, str | None] = {"district": None, "street": "district", "grid": "street"}
# The jurisdictions table's column widths.
MAX_CODE, MAX_NAME = 40, 200
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A child may stick out of its parent, or overlap a neighbour, by this share of its area
# before it is an error: enough for a GIS export's rounding, far too little for a real gap.
TOLERANCE = 1e-3

Ring = list[tuple[float, float]]


def read_jurisdictions(path: Path, problems: Problems) -> tuple[JurisdictionSpec, ...]:
    """Every feature as a spec, in file order; problems are added rather than raised."""
    data = _read_json(path, problems)
    if data is None:
        return ()
    features = data.get("features")
    if data.get("type") != "FeatureCollection" or not isinstance(features, list):
        problems.add(
            FILE, "", 'must be a GeoJSON FeatureCollection ({"type": ..., "features": [...]})'
        )
        return ()
    _check_crs(data, problems)
    parsed: list[tuple[str, JurisdictionSpec, Polygon]] = []
    for number, feature in enumerate(features, 1):
        label = _label(feature, number)
        found = _feature(feature, label, problems)
        if found is not None:
            parsed.append((label, *found))
    _check_hierarchy(parsed, problems)
    if parsed and not any(spec.level == "district" for _, spec, _ in parsed):
        problems.add(
            FILE, "", "has no district: a city needs at least one feature of level district"
        )
    return tuple(spec for _, spec, _ in parsed)


def _read_json(path: Path, problems: Problems) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.add(FILE, "", "is missing")
        return None
    except UnicodeDecodeError:
        problems.add(FILE, "", "is not UTF-8 text")
        return None
    except json.JSONDecodeError as exc:
        problems.add(FILE, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}")
        return None
    if not isinstance(data, dict):
        problems.add(FILE, "", "must be a GeoJSON FeatureCollection")
        return None
    return data


def _check_crs(data: dict[str, Any], problems: Problems) -> None:
    # Old GeoJSON (and QGIS's default export) may name its CRS; anything but WGS84 lon/lat
    # would put every point of the city somewhere else.
    crs = data.get("crs")
    name = crs.get("properties", {}).get("name", "") if isinstance(crs, dict) else ""
    if name and not re.search(r"CRS84|EPSG:+4326$", str(name)):
        problems.add(
            FILE, "crs", f"is {name}: export the layer in WGS84 longitude/latitude (EPSG:4326)"
        )


def _label(feature: Any, number: int) -> str:
    props = feature.get("properties") if isinstance(feature, dict) else None
    code = props.get("code") if isinstance(props, dict) else None
    return f"feature {number} ({code})" if isinstance(code, str) and code else f"feature {number}"


def _text(props: dict[str, Any], key: str, limit: int) -> str | None:
    value = props.get(key)
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value
    return None


def _feature(
    feature: Any, label: str, problems: Problems
) -> tuple[JurisdictionSpec, Polygon] | None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.add(FILE, label, 'is not a GeoJSON Feature ({"type": "Feature", ...})')
        return None
    props = feature.get("properties")
    if not isinstance(props, dict):
        problems.add(FILE, label, "has no properties")
        return None
    ok = True
    code = props.get("code")
    if not (isinstance(code, str) and CODE_PATTERN.fullmatch(code) and len(code) <= MAX_CODE):
        problems.add(
            FILE,
            label,
            f"code must be 1-{MAX_CODE} letters, digits, '.', '_' or '-' (got {code!r})",
        )
        ok = False
    level = props.get("level")
    if level not in LEVELS:
        problems.add(FILE, label, f"level must be one of {', '.join(LEVELS)} (got {level!r})")
        return None
    parent = props.get("parent")
    if PARENT_LEVEL[level] is None and parent is not None:
        problems.add(FILE, label, f"a district has no parent (got {parent!r}); use null")
        ok = False
    elif PARENT_LEVEL[level] is not None and not (isinstance(parent, str) and parent):
        problems.add(
            FILE, label, f"a {level} needs a parent: the code of its {PARENT_LEVEL[level]}"
        )
        ok = False
    names = {key: _text(props, key, MAX_NAME) for key in ("name", "name_zh")}
    for key, value in names.items():
        if value is None:
            problems.add(FILE, label, f"{key} must be text of 1-{MAX_NAME} characters")
            ok = False
    ring = _ring(feature.get("geometry"), label, problems)
    if ring is None or not ok:
        return None
    spec = JurisdictionSpec(
        level=level,
        code=str(code),
        name=str(names["name"]),
        name_zh=str(names["name_zh"]),
        parent_code=parent,
        polygon=ring,
    )
    return spec, Polygon(ring)


def _ring(geometry: Any, label: str, problems: Problems) -> Ring | None:
    """The polygon's exterior ring as written, closed and counter-clockwise, or None."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "MultiPolygon" and isinstance(coordinates, list):
        # QGIS writes every polygon layer as MultiPolygon; one part is just a polygon.
        if len(coordinates) != 1:
            problems.add(
                FILE,
                label,
                f"is a MultiPolygon of {len(coordinates)} parts: a jurisdiction is one polygon"
                " (split it into features of their own, or join the parts)",
            )
            return None
        kind, coordinates = "Polygon", coordinates[0]
    if kind != "Polygon" or not isinstance(coordinates, list) or not coordinates:
        problems.add(FILE, label, f"geometry must be a Polygon (got {kind or 'none'})")
        return None
    if len(coordinates) > 1:
        problems.add(FILE, label, "has a hole: a jurisdiction's polygon has only an outer ring")
        return None
    ring: Ring = []
    for position in coordinates[0] if isinstance(coordinates[0], list) else [None]:
        point = _position(position)
        if point is None:
            problems.add(FILE, label, f"{position!r} is not a [longitude, latitude] position")
            return None
        lon, lat = point
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            problems.add(
                FILE,
                label,
                f"[{lon}, {lat}] is not a longitude and latitude in degrees: export the layer"
                " in WGS84 (EPSG:4326), not a projected coordinate system",
            )
            return None
        ring.append(point)
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        problems.add(FILE, label, "polygon needs at least three distinct corners")
        return None
    polygon = Polygon(ring)
    if not polygon.is_valid or polygon.area <= 0:
        reason = shapely.is_valid_reason(polygon) if not polygon.is_valid else "it has no area"
        problems.add(FILE, label, f"polygon is not valid: {reason}")
        return None
    # RFC 7946 wants outer rings counter-clockwise; GIS exports do not always oblige.
    return ring if polygon.exterior.is_ccw else ring[::-1]


def _position(position: Any) -> tuple[float, float] | None:
    if not isinstance(position, list) or len(position) < 2:
        return None
    lon, lat = position[0], position[1]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat))
    if not numbers or not all(math.isfinite(v) for v in (lon, lat)):
        return None
    # A third value (height) is allowed by GeoJSON and means nothing to a jurisdiction.
    return float(lon), float(lat)


def _check_hierarchy(
    parsed: list[tuple[str, JurisdictionSpec, Polygon]], problems: Problems
) -> None:
    first: dict[str, tuple[str, JurisdictionSpec, Polygon]] = {}
    for label, spec, shape in parsed:
        if spec.code in first:
            problems.add(
                FILE, label, f"code {spec.code} is used twice (also {first[spec.code][0]})"
            )
        else:
            first[spec.code] = (label, spec, shape)
    for label, spec, shape in parsed:
        if spec.parent_code is None:
            continue
        found = first.get(spec.parent_code)
        if found is None:
            problems.add(FILE, label, f"parent {spec.parent_code} is not a feature of this file")
            continue
        _, parent, parent_shape = found
        wanted = PARENT_LEVEL[spec.level]
        if parent.level != wanted:
            problems.add(
                FILE,
                label,
                f"a {spec.level}'s parent must be a {wanted}; {parent.code} is a {parent.level}",
            )
            continue
        outside = shape.difference(parent_shape).area
        if outside > TOLERANCE * shape.area:
            problems.add(
                FILE,
                label,
                f"lies partly outside its parent {parent.code}"
                f" ({outside / shape.area:.1%} of its area)",
            )
    for level in LEVELS:
        _check_overlaps(
            [(label, spec, shape) for label, spec, shape in parsed if spec.level == level], problems
        )


def _check_overlaps(
    same_level: list[tuple[str, JurisdictionSpec, Polygon]], problems: Problems
) -> None:
    """Two districts (or streets, or cells) that overlap would both claim a point."""
    shapes = [shape for _, _, shape in same_level]
    tree = STRtree(shapes)
    for i, j in zip(*tree.query(shapes, predicate="intersects"), strict=True):
        if i >= j:
            continue
        area = shapes[i].intersection(shapes[j]).area
        if area > TOLERANCE * min(shapes[i].area, shapes[j].area):
            problems.add(
                FILE,
                same_level[i][0],
                f"overlaps {same_level[j][1].code}"
                f" ({area / min(shapes[i].area, shapes[j].area):.1%} of the smaller)",
            )
