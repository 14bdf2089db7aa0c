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


class Placement(Answer):
    """The district, street and grid of a point (street and grid where they are mapped)."""

    district: Named
    street: Named | None
    grid: Named | None
