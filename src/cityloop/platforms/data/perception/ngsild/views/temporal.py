"""History: GET /temporal/entities and /temporal/entities/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import temporal
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id
from cityloop.platforms.data.perception.ngsild.query import RequestBudget, safe_regex
from cityloop.platforms.data.perception.ngsild.views.common import (
    Call,
    call_for,
    check_limit,
    int_param,
    names,
    options,
    respond,
)

router = APIRouter()


def _time_query(request: Request, active: ActiveContext) -> temporal.TimeQuery:
    params = request.query_params
    attrs = tuple(names(request, "attrs", active, what="attribute name"))
    return temporal.parse_time_query(
        params.get("timerel"),
        params.get("timeAt"),
        params.get("endTimeAt"),
        params.get("lastN"),
        attrs,
        "temporalValues" in options(request),
    )


def _respond(
    call: Call, active: ActiveContext, results: list[temporal.TemporalResult], data: Any
) -> Response:
    """200, or 206 with a Content-Range when a series was cut at the server's page size."""
    content_range = temporal.content_range(results)
    if content_range:
        return respond(call, active, data, status=206, headers={"Content-Range": content_range})
    return respond(call, active, data)


@router.get("/temporal/entities/{entity_id}")
def temporal_entity(request: Request, entity_id: str) -> Response:
    """One entity's attribute history over a time range; admins, dispatchers and API keys (anyone,
    when reads are public)."""
    call = call_for(request)
    check_entity_id(entity_id)
    active = call.resolve(call.link)
    query = _time_query(request, active)
    with call.ctx.reading() as session:
        result = temporal.temporal_entity(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            query=query,
            active=active,
            page=call.ctx.settings.ngsild_temporal_page,
        )
    return _respond(call, active, [result], result.entity)


@router.get("/temporal/entities")
def temporal_query(request: Request) -> Response:
    """Attribute histories of entities by type, id or idPattern over a time range, paged; admins,
    dispatchers and API keys (anyone, when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    query = _time_query(request, active)
    settings = call.ctx.settings
    ids = [
        check_entity_id(part.strip())
        for value in request.query_params.getlist("id")
        for part in value.split(",")
        if part.strip()
    ]
    id_pattern = None
    if request.query_params.get("idPattern"):
        # As GET /entities: a client regex under the request's time budget.
        id_pattern = safe_regex(request.query_params["idPattern"], "idPattern", RequestBudget())
    limit = int_param(request, "limit", settings.ngsild_default_limit, low=1)
    check_limit(limit, settings)
    with call.ctx.reading() as session:
        results = temporal.temporal_query(
            session,
            tenant=call.tenant,
            types=names(request, "type", active, what="entity type"),
            ids=ids,
            query=query,
            active=active,
            limit=limit,
            offset=int_param(request, "offset", 0),
            page=settings.ngsild_temporal_page,
            id_pattern=id_pattern,
        )
    return _respond(call, active, results, [r.entity for r in results])
