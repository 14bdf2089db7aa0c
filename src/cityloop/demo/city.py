"""Riverton (河港市): the fictional demo city, read from its data folder ``demo/riverton/``.

The city is data, not code: jurisdictions in GeoJSON, departments, categories, routing and SLA
targets in YAML (see docs/demo-city.md). A city replaces the folder with its own and loads it
with ``cityloop seed --city-dir PATH``; :func:`cityloop.demo.loader.load_city` reads either.
"""

from __future__ import annotations

import functools
from pathlib import Path

import shapely
from shapely.geometry import Polygon

from cityloop.demo.errors import CityDataError
from cityloop.demo.loader import load_city
from cityloop.demo.specs import (
    PRIORITIES,
    AttributeSpec,
    CategorySpec,
    DemoCity,
    DepartmentSpec,
    JurisdictionSpec,
    RoutingRuleSpec,
    SlaSpec,
)

__all__ = [
    "PRIORITIES",
    "RIVERTON",
    "AttributeSpec",
    "CategorySpec",
    "CityDataError",
    "DemoCity",
    "DepartmentSpec",
    "JurisdictionSpec",
    "RoutingRuleSpec",
    "SlaSpec",
    "build_demo_city",
    "city_outline",
    "load_city",
]

# Package data (pyproject's [tool.setuptools.package-data]), so an installed wheel has it too.
RIVERTON = Path(__file__).with_name("riverton")


@functools.cache
def build_demo_city() -> DemoCity:
    """Riverton, read and checked once per process."""
    return load_city(RIVERTON)


def city_outline(city: DemoCity | None = None) -> list[tuple[float, float]]:
    """The city boundary as a closed, counter-clockwise (lon, lat) ring: the outline of its
    districts together, which is also what the map and point lookup treat as the city."""
    districts = [
        Polygon(j.polygon)
        for j in (city or build_demo_city()).jurisdictions
        if j.level == "district"
    ]
    union = shapely.union_all(districts)
    if not isinstance(union, Polygon) or union.interiors:
        raise ValueError("the districts do not form one polygon without holes")
    exterior = union.exterior if union.exterior.is_ccw else union.exterior.reverse()
    return [(x, y) for x, y in exterior.coords]
