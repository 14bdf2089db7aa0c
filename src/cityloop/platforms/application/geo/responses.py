"""Answers of the geography routes: the jurisdiction layers as GeoJSON, and where a point falls."""

from __future__ import annotations

from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import Field

from cityloop.base.contracts import Answer, JsonObject, Named


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class AreaProperties(Answer):
    code: str
    level: Literal["district", "street", "grid"]
    name: str
    name_zh: str
    parent_code: str | None
    label: tuple[float, float] = Field(description="[lon, lat] where the area's name is drawn")


class AreaFeature(Answer):
    type: Literal["Feature"]
    id: str
    geometry: JsonObject = Field(description="a GeoJSON Polygon or MultiPolygon")
    properties: AreaProperties


class AreaCollection(Answer):
    type: Literal["FeatureCollection"]
    features: list[AreaFeature]


class NearbyFeature(Answer):
    """A named road or landmark of the base map near the point."""

    name: str
    name_zh: str
    distance_m: float


class PointAddress(Answer):
    """Where the point is in words, from the city's base map."""

    road: NearbyFeature | None = Field(description="the road within 150 m, if any")
    landmark: NearbyFeature | None = Field(description="the landmark within 400 m, if any")
    text: str = Field(description="one line in English: 'Temple Road, near City Hall'")
    text_zh: str = Field(description="the same line in Chinese")


class Placement(Answer):
    """The district, street and grid of a point (street and grid where they are mapped), and
    its address from the base map when a road or landmark is near."""

    district: Named
    street: Named | None
    grid: Named | None
    address: PointAddress | None = None


class MapFeatureProperties(Answer):
    kind: Literal["road", "river", "landmark"]
    name: str
    name_zh: str
    rank: int = Field(description="1 for main roads, 2 for the others")


class MapFeature(Answer):
    type: Literal["Feature"]
    id: int
    geometry: JsonObject = Field(description="a GeoJSON LineString, MultiLineString or Point")
    properties: MapFeatureProperties


class BaseMap(Answer):
    type: Literal["FeatureCollection"]
    features: list[MapFeature]
