from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cityloop.base.context import AppContext, get_context
from cityloop.base.contracts import Named
from cityloop.base.problems import bad_request
from cityloop.platforms.application.geo import basemap, service
from cityloop.platforms.application.geo.messages import Message, address_message
from cityloop.platforms.application.geo.responses import (
    AreaCollection,
    BaseMap,
    GeoJSONResponse,
    NearbyFeature,
    Placement,
    PointAddress,
)

router = APIRouter(prefix="/api/v1/geo", tags=["geo"])
Ctx = Annotated[AppContext, Depends(get_context)]
Layer = {"response_model": AreaCollection, "response_class": GeoJSONResponse}


def _collection(ctx: AppContext, level: str) -> dict[str, Any]:
    with ctx.reading() as session:
        return service.feature_collection(session, level=level)


@router.get("/districts", **Layer)
def districts(ctx: Ctx) -> dict[str, Any]:
    """The city's districts as GeoJSON; for anyone."""
    return _collection(ctx, "district")


@router.get("/streets", **Layer)
def streets(ctx: Ctx) -> dict[str, Any]:
    """The city's streets (街道) as GeoJSON areas; for anyone."""
    return _collection(ctx, "street")


@router.get("/grids", **Layer)
def grids(ctx: Ctx) -> dict[str, Any]:
    """The city's grids (网格) as GeoJSON; for anyone."""
    return _collection(ctx, "grid")


@router.get("/basemap", response_model=BaseMap, response_class=GeoJSONResponse)
def base_map(ctx: Ctx) -> dict[str, Any]:
    """The city's own base map as GeoJSON: its rivers, roads and landmarks, named in English
    and Chinese, drawn under the case maps with no tile server; for anyone."""
    with ctx.reading() as session:
        return basemap.base_map(session)


def _nearby(found: basemap.Nearby | None) -> NearbyFeature | None:
    if found is None:
        return None
    return NearbyFeature(name=found.name, name_zh=found.name_zh, distance_m=found.distance_m)


def _address(found: basemap.PointAddress) -> PointAddress | None:
    message = address_message(found)
    if message is None:
        return None
    return PointAddress(
        road=_nearby(found.road),
        landmark=_nearby(found.landmark),
        text=message.render("en"),
        text_zh=message.render("zh-CN"),
    )


def _named(area: service.Area | None) -> Named | None:
    return Named(code=area.code, name=area.name, name_zh=area.name_zh) if area else None


@router.get("/resolve")
def resolve(
    ctx: Ctx,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> Placement:
    """The district, street and grid a point lies in (400 outside the city), and the road and
    landmark near it on the city's base map; for anyone."""
    with ctx.reading() as session:
        placement = service.place_point(session, lon=lon, lat=lat)
        address = basemap.describe_point(session, lon=lon, lat=lat) if placement else None
    if placement is None:
        raise bad_request(
            Message("geo.point_outside_city", {"lat": str(lat), "lon": str(lon)}),
            field="lat",
            type_="outside-city",
        )
    return Placement(
        district=Named(
            code=placement.district.code,
            name=placement.district.name,
            name_zh=placement.district.name_zh,
        ),
        street=_named(placement.street),
        grid=_named(placement.grid),
        address=_address(address) if address else None,
    )
