"""/temporal/entities and /temporal/entityOperations/query: reading entities' histories
(clauses 6.18-6.19, 6.24), and providing them: create or extend a temporal representation,
add instances, delete attributes and instances, patch one instance (6.18-6.22)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import temporal, temporal_provision
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id, check_name
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.identifiers import check_term
from cityloop.platforms.data.perception.ngsild.query import RequestBudget, parse_q, safe_regex
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery
from cityloop.platforms.data.perception.ngsild.scopes import parse_scope_q
from cityloop.platforms.data.perception.ngsild.views.common import (
    PREFIX,
    Call,
    call_for,
    call_with_body,
    check_limit,
    int_param,
    names,
    options,
    respond,
    results_count,
    run,
    user_context,
)

router = APIRouter()


def _representation(request: Request) -> set[str]:
    """``options``, where ``format`` (when given) decides the representation."""
    asked = options(request)
    chosen = request.query_params.get("format")
    if chosen:
        asked -= {"temporalValues", "aggregatedValues", "simplified", "normalized", "concise"}
        asked.add(chosen.strip())
    return asked


def _time_query(request: Request, active: ActiveContext) -> temporal.TimeQuery:
    params = request.query_params
    return temporal.parse_time_query(
        timerel=params.get("timerel"),
        time_at=params.get("timeAt"),
        end_time_at=params.get("endTimeAt"),
        last_n=params.get("lastN"),
        attrs=tuple(names(request, "attrs", active, what="attribute name")),
        options=_representation(request),
        timeproperty=params.get("timeproperty"),
        aggr_methods=params.get("aggrMethods"),
        aggr_period=params.get("aggrPeriodDuration"),
        dataset_id=params.get("datasetId"),
    )


def _respond(
    call: Call,
    active: ActiveContext,
    results: list[temporal.TemporalResult],
    data: Any,
    headers: dict[str, str] | None = None,
) -> Response:
    """200, or 206 with a Content-Range when a series was cut at the server's page size."""
    content_range = temporal.content_range(results)
    if content_range:
        headers = {**(headers or {}), "Content-Range": content_range}
        return respond(call, active, data, status=206, headers=headers)
    return respond(call, active, data, headers=headers)


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
    """Attribute histories of entities by type, id, idPattern, attrs, q, scopeQ or geo-query over
    a time range, paged; admins, dispatchers and API keys (anyone, when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    params = request.query_params
    query = _time_query(request, active)
    selection = EntityQuery(attrs=list(query.attrs))
    budget = RequestBudget()  # shared by idPattern and q's patterns over all rows
    selection.types = names(request, "type", active, what="entity type")
    for value in params.getlist("id"):
        selection.ids.extend(check_entity_id(p.strip()) for p in value.split(",") if p.strip())
    if params.get("idPattern"):
        selection.id_pattern = safe_regex(params["idPattern"], "idPattern", budget)
    if params.get("q"):
        selection.q = parse_q(params["q"], budget)
    if params.get("scopeQ"):
        selection.scope_q = parse_scope_q(params["scopeQ"])
    _geo(
        selection,
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
        active,
    )
    local = params.get("local", "").lower() == "true"
    return _query(request, call, active, selection, query, local=local)


def _geo(
    selection: EntityQuery,
    georel: Any,
    geometry: Any,
    coordinates: Any,
    geoproperty: Any,
    active: ActiveContext,
) -> None:
    """The geo-query (URL parameters or a body's ``geoQ`` members) into the selection."""
    for member, value in (("georel", georel), ("geometry", geometry), ("geoproperty", geoproperty)):
        if not isinstance(value, str | None):
            raise bad_data(f"{member} must be a string")
    if coordinates is not None and not isinstance(coordinates, str):
        coordinates = json.dumps(coordinates)
    selection.geo = parse_geoquery(georel, geometry, coordinates, geoproperty)
    if selection.geo is not None and geoproperty:
        check_name(geoproperty, "geoproperty")
        selection.geoproperty = active.expand(geoproperty)


def _query(
    request: Request,
    call: Call,
    active: ActiveContext,
    selection: EntityQuery,
    query: temporal.TimeQuery,
    *,
    local: bool = False,
) -> Response:
    """Paging, count and the answer, shared by the GET and POST temporal queries."""
    settings = call.ctx.settings
    selection.limit = int_param(request, "limit", settings.ngsild_default_limit, low=1)
    selection.offset = int_param(request, "offset", 0)
    selection.count = request.query_params.get("count", "").lower() == "true"
    check_limit(selection.limit, settings)
    with call.ctx.reading() as session:
        results, total = temporal.temporal_query(
            session,
            tenant=call.tenant,
            selection=selection,
            query=query,
            active=active,
            page=settings.ngsild_temporal_page,
            local=local,
        )
    data = [r.entity for r in results]
    return _respond(call, active, results, data, results_count(total))


@router.post("/temporal/entityOperations/query")
async def temporal_query_by_body(request: Request) -> Response:
    """A temporal query as a body (`{"type": "Query", "temporalQ": ..., ...}`, clause 6.24);
    paging and count stay in the URL. A read."""
    call, body, media = await call_with_body(request)
    return await run(_temporal_query_by_body, request, call, body, media)


def _temporal_query_by_body(request: Request, call: Call, body: Any, media: str) -> Response:
    active = call.resolve(user_context(call, body, media))
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_data('the body must be a Query object: {"type": "Query", ...}')
    budget = RequestBudget()
    selection = EntityQuery()
    selectors = body.get("entities", [])
    if not isinstance(selectors, list) or not all(isinstance(e, dict) for e in selectors):
        raise bad_data("entities must be a list of {type, id, idPattern} objects")
    for selector in selectors:
        if "type" in selector:
            check_name(selector["type"], "entity type")
            selection.types.append(active.expand(selector["type"]))
        if "id" in selector:
            selection.ids.append(check_entity_id(selector["id"]))
        if "idPattern" in selector:
            if not isinstance(selector["idPattern"], str):
                raise bad_data("idPattern must be a string")
            selection.id_pattern = safe_regex(selector["idPattern"], "idPattern", budget)
    attrs = body.get("attrs", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise bad_data("attrs must be a list of attribute names")
    selection.attrs = [active.expand(check_name(a, "attribute name")) for a in attrs]
    if body.get("q") is not None:
        if not isinstance(body["q"], str):
            raise bad_data("q must be a string in the NGSI-LD query language")
        selection.q = parse_q(body["q"], budget)
    if body.get("scopeQ") is not None:
        if not isinstance(body["scopeQ"], str):
            raise bad_data("scopeQ must be a string in the scope query language")
        selection.scope_q = parse_scope_q(body["scopeQ"])
    geo = body.get("geoQ")
    if geo is not None:
        if not isinstance(geo, dict):
            raise bad_data("geoQ must be an object with georel, geometry and coordinates")
        _geo(
            selection,
            geo.get("georel"),
            geo.get("geometry"),
            geo.get("coordinates"),
            geo.get("geoproperty"),
            active,
        )
    temporal_q = body.get("temporalQ") or {}
    aggr = body.get("aggrParams") or {}
    if not isinstance(temporal_q, dict):
        raise bad_data("temporalQ must be an object (timerel, timeAt, endTimeAt, lastN, ...)")
    if not isinstance(aggr, dict):
        raise bad_data("aggrParams must be an object (aggrMethods, aggrPeriodDuration)")
    # aggrMethods and aggrPeriodDuration may come in aggrParams or (v1.9) in temporalQ.
    aggr = {**{k: v for k, v in temporal_q.items() if k.startswith("aggr")}, **aggr}
    asked = _representation(request)
    if aggr.get("aggrMethods") is not None:
        asked.add("aggregatedValues")
    query = temporal.parse_time_query(
        timerel=_text(temporal_q, "timerel"),
        time_at=_text(temporal_q, "timeAt"),
        end_time_at=_text(temporal_q, "endTimeAt"),
        last_n=temporal_q.get("lastN"),
        attrs=tuple(selection.attrs),
        options=asked,
        timeproperty=_text(temporal_q, "timeproperty"),
        aggr_methods=aggr.get("aggrMethods"),
        aggr_period=aggr.get("aggrPeriodDuration"),
    )
    return _query(request, call, active, selection, query, local=body.get("local") is True)


def _text(members: dict[str, Any], name: str) -> str | None:
    value = members.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_data(f"temporalQ.{name} must be a string")
    return value


@router.post("/temporal/entities")
async def upsert_temporal_entity(request: Request) -> Response:
    """Create an entity's temporal representation (201), or add instances to it (204); admins,
    dispatchers and API keys."""
    call, body, media = await call_with_body(request)
    return await run(_upsert_temporal_entity, call, body, media)


def _upsert_temporal_entity(call: Call, body: Any, media: str) -> Response:
    active = call.resolve(user_context(call, body, media))
    with call.ctx.writing() as session:
        created = temporal_provision.upsert_temporal_entity(
            session, tenant=call.tenant, body=body, active=active
        )
    if not created:
        return Response(status_code=204)
    location = f"{PREFIX}/temporal/entities/{body['id']}"
    return Response(status_code=201, headers={"Location": location})


@router.delete("/temporal/entities/{entity_id}")
def delete_temporal_entity(request: Request, entity_id: str) -> Response:
    """Delete an entity's temporal representation (and the entity); admins, dispatchers and API
    keys."""
    call = call_for(request)
    check_entity_id(entity_id)
    with call.ctx.writing() as session:
        temporal_provision.delete_temporal_entity(session, tenant=call.tenant, entity_id=entity_id)
    return Response(status_code=204)


@router.post("/temporal/entities/{entity_id}/attrs")
async def append_temporal_attributes(request: Request, entity_id: str) -> Response:
    """Add attribute instances to an entity's temporal representation; admins, dispatchers and
    API keys."""
    call, body, media = await call_with_body(request)
    return await run(_append, call, body, media, entity_id)


def _append(call: Call, body: Any, media: str, entity_id: str) -> Response:
    check_entity_id(entity_id)
    active = call.resolve(user_context(call, body, media))
    with call.ctx.writing() as session:
        temporal_provision.append_temporal_attributes(
            session, tenant=call.tenant, entity_id=entity_id, body=body, active=active
        )
    return Response(status_code=204)


@router.delete("/temporal/entities/{entity_id}/attrs/{attr}")
def delete_temporal_attribute(request: Request, entity_id: str, attr: str) -> Response:
    """Delete an attribute's instances (the default ones, one datasetId's, or all with
    deleteAll=true); admins, dispatchers and API keys."""
    call = call_for(request)
    check_entity_id(entity_id)
    check_term(attr)  # a name (4.6.2): never a dot segment such as '..'
    active = call.resolve(call.link)
    params = request.query_params
    with call.ctx.writing() as session:
        temporal_provision.delete_temporal_attribute(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            name=attr,
            active=active,
            dataset_id=params.get("datasetId"),
            delete_all=params.get("deleteAll", "").lower() == "true",
        )
    return Response(status_code=204)


@router.patch("/temporal/entities/{entity_id}/attrs/{attr}/{instance_id:path}")
async def patch_instance(request: Request, entity_id: str, attr: str, instance_id: str) -> Response:
    """Partially update one attribute instance; admins, dispatchers and API keys."""
    if not instance_id:
        # The path names the attribute itself, which only allows DELETE (6.21).
        raise NgsiError("MethodNotAllowed", "PATCH needs an instanceId after the attribute name")
    call, body, media = await call_with_body(request)
    return await run(_patch_instance, call, body, media, entity_id, attr, instance_id)


def _patch_instance(
    call: Call, body: Any, media: str, entity_id: str, attr: str, instance_id: str
) -> Response:
    check_entity_id(entity_id)
    check_term(attr)  # a name (4.6.2): never a dot segment such as '..'
    active = call.resolve(user_context(call, body, media))
    with call.ctx.writing() as session:
        temporal_provision.patch_instance(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            name=attr,
            instance=instance_id,
            body=body,
            active=active,
        )
    return Response(status_code=204)


@router.delete("/temporal/entities/{entity_id}/attrs/{attr}/{instance_id:path}")
def delete_instance(request: Request, entity_id: str, attr: str, instance_id: str) -> Response:
    """Delete one attribute instance; admins, dispatchers and API keys."""
    call = call_for(request)
    check_entity_id(entity_id)
    check_term(attr)  # a name (4.6.2): never a dot segment such as '..'
    active = call.resolve(call.link)
    with call.ctx.writing() as session:
        temporal_provision.delete_instance(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            name=attr,
            instance=instance_id,
            active=active,
        )
    return Response(status_code=204)


# Out of the OpenAPI document, as the entities' guard: a path with an empty entity id or
# attribute name is a 400 naming it, not a 404 for a route that does not exist.
@router.api_route(
    "/temporal/entities//attrs{rest:path}",
    methods=["POST", "PATCH", "DELETE"],
    include_in_schema=False,
)
def empty_temporal_entity_id(rest: str) -> Response:
    """A temporal attribute operation whose entity id is empty: 400."""
    raise bad_data("the entity id in the path is empty")


@router.delete("/temporal/entities/{entity_id}/attrs//{rest:path}", include_in_schema=False)
def empty_temporal_attribute_name(entity_id: str, rest: str) -> Response:
    """A temporal instance deletion whose attribute name is empty: 400."""
    raise bad_data("the attribute name in the path is empty")
