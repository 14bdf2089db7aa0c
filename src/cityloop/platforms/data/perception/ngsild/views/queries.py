"""Entity queries: GET /entities, and POST /entityOperations/query for queries too long for a
URL; both page, count and render alike."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import reads
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id, check_name
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.query import RequestBudget, parse_q, safe_regex
from cityloop.platforms.data.perception.ngsild.views.common import (
    Call,
    call_for,
    call_with_body,
    check_limit,
    int_param,
    names,
    render_options,
    render_row,
    respond,
    results_count,
    run,
    user_context,
)

router = APIRouter()


@router.get("/entities")
def query_entities(request: Request) -> Response:
    """Query entities by type, id, idPattern, q and geo-query, paged; admins, dispatchers and API
    keys (anyone, when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    params = request.query_params
    query = reads.EntityQuery()
    budget = RequestBudget()  # shared by idPattern and q's patterns over all rows
    query.types = names(request, "type", active, what="entity type")
    for value in params.getlist("id"):
        query.ids.extend(check_entity_id(part.strip()) for part in value.split(",") if part)
    if params.get("idPattern"):
        query.id_pattern = safe_regex(params["idPattern"], "idPattern", budget)
    query.attrs = names(request, "attrs", active, what="attribute name")
    if params.get("q"):
        query.q = parse_q(params["q"], budget)
    query.geo = parse_geoquery(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
    )
    if query.geo is not None and params.get("geoproperty"):
        check_name(params["geoproperty"], "geoproperty")
        query.geoproperty = active.expand(params["geoproperty"])
    return _answer(request, call, active, query)


@router.post("/entityOperations/query")
async def query_entities_by_body(request: Request) -> Response:
    """The query as a body (`{"type": "Query", ...}`), for queries too long for a URL; paging,
    count and options stay in the URL as for GET /entities."""
    call, body, media = await call_with_body(request)
    return await run(_query_by_body, request, call, body, media)


def _query_by_body(request: Request, call: Call, body: Any, media: str) -> Response:
    active = call.resolve(user_context(call, body, media))
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_data('the body must be a Query object: {"type": "Query", ...}')
    query = reads.EntityQuery()
    budget = RequestBudget()
    _select_entities(query, body.get("entities", []), active, budget)
    attrs = body.get("attrs", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise bad_data("attrs must be a list of attribute names")
    for name in attrs:
        check_name(name, "attribute name")
        query.attrs.append(active.expand(name))
    if body.get("q") is not None:
        if not isinstance(body["q"], str):
            raise bad_data("q must be a string in the NGSI-LD query language")
        query.q = parse_q(body["q"], budget)
    geo = body.get("geoQ")
    if geo is not None:
        _geo_query(query, geo, active)
    return _answer(request, call, active, query)


def _select_entities(
    query: reads.EntityQuery, selectors: Any, active: ActiveContext, budget: RequestBudget
) -> None:
    """The body's ``entities`` selectors: types, and an id or an idPattern."""
    if not isinstance(selectors, list) or not all(isinstance(e, dict) for e in selectors):
        raise bad_data("entities must be a list of {type, id, idPattern} objects")
    if len(selectors) > 1 and any(set(e) - {"type"} for e in selectors):
        # Several selectors that each carry an id or pattern would need one query each.
        raise NgsiError(
            "OperationNotSupported",
            "several entity selectors may name only types; send one selector with id or idPattern",
        )
    for selector in selectors:
        type_name = selector.get("type")
        if not isinstance(type_name, str):
            raise bad_data("each entity selector needs a type")
        check_name(type_name, "entity type")
        query.types.append(active.expand(type_name))
        if "id" in selector:
            query.ids.append(check_entity_id(selector["id"]))
        if "idPattern" in selector:
            if not isinstance(selector["idPattern"], str):
                raise bad_data("idPattern must be a string")
            query.id_pattern = safe_regex(selector["idPattern"], "idPattern", budget)


def _geo_query(query: reads.EntityQuery, geo: Any, active: ActiveContext) -> None:
    """The body's ``geoQ``, as the URL's georel, geometry, coordinates and geoproperty."""
    if not isinstance(geo, dict):
        raise bad_data("geoQ must be an object with georel, geometry and coordinates")
    for member in ("georel", "geometry"):
        if not isinstance(geo.get(member), str | None):
            raise bad_data(f"geoQ {member} must be a string")
    coordinates = geo.get("coordinates")
    if not isinstance(coordinates, str):
        coordinates = json.dumps(coordinates)
    geoproperty = geo.get("geoproperty")
    query.geo = parse_geoquery(geo.get("georel"), geo.get("geometry"), coordinates, geoproperty)
    if geoproperty:
        check_name(geoproperty, "geoproperty")
        query.geoproperty = active.expand(geoproperty)


def _answer(
    request: Request, call: Call, active: ActiveContext, query: reads.EntityQuery
) -> Response:
    """Paging, count and rendering, shared by GET /entities and POST /entityOperations/query."""
    params = request.query_params
    settings = call.ctx.settings
    if not (query.types or query.ids or query.id_pattern or query.attrs or query.q or query.geo):
        raise bad_data("name at least one of type, id, idPattern, attrs, q or georel")
    query.count = params.get("count", "").lower() == "true"
    query.limit = int_param(request, "limit", settings.ngsild_default_limit)
    query.offset = int_param(request, "offset", 0)
    check_limit(query.limit, settings)
    if query.limit == 0 and not query.count:
        raise bad_data("limit=0 only makes sense with count=true")
    render = render_options(request)
    projection = set(query.attrs) if query.attrs else None
    with call.ctx.reading() as session:
        found, total = reads.query_entities(session, tenant=call.tenant, query=query, active=active)
        data = [render_row(row, active, projection, render) for row in found]
    return respond(call, active, data, headers=results_count(total))
