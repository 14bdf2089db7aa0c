from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import bad_request
from cityloop.platforms.application.geo import service

router = APIRouter(prefix="/api/v1/geo", tags=["geo"])
Ctx = Annotated[AppContext, Depends(get_context)]


def _collection(ctx: AppContext, level: str) -> JSONResponse:
    with ctx.reading() as session:
        body = service.feature_collection(session, level)
    return JSONResponse(body, media_type="application/geo+json")


@router.get("/districts")
def districts(ctx: Ctx) -> JSONResponse:
    return _collection(ctx, "district")


@router.get("/streets")
def streets(ctx: Ctx) -> JSONResponse:
    return _collection(ctx, "street")


@router.get("/grids")
def grids(ctx: Ctx) -> JSONResponse:
    return _collection(ctx, "grid")


@router.get("/resolve")
def resolve(
    ctx: Ctx,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> dict[str, Any]:
    with ctx.reading() as session:
        placement = service.place_point(session, lon, lat)
    if placement is None:
        raise bad_request(
            f"the point ({lat}, {lon}) is outside the city", field="lat", type_="outside-city"
        )
    return {
        "district": placement.district.__dict__,
        "street": placement.street.__dict__ if placement.street else None,
        "grid": placement.grid.__dict__ if placement.grid else None,
    }
