"""/temporal/entities and /temporal/entityOperations/query: reading entities' histories
(clauses 6.18-6.19, 6.24), and providing them: create or extend a temporal representation,
add instances, delete attributes and instances, patch one instance (6.18-6.22)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import temporal, temporal_provision
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.identifiers import check_term
from cityloop.platforms.data.perception.ngsild.ordering import parse_order_by
from cityloop.platforms.data.perception.ngsild.projection import (
    parse_languages,
    pick_and_omit,
    tree_depth,
)
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import (
    PREFIX,
    Call,
    call_for,
    call_with_body,
    check_limit,
    flag,
    int_param,
    names,
    options,
    respond,
    results_count,
    run,
    user_context,
)
from cityloop.platforms.data.perception.ngsild.views.queries import (
    body_parameters,
    select_by_body,
    select_by_params,
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


def _time_query(
    request: Request, active: ActiveContext, attrs: list[str], params: Mapping[str, str]
) -> temporal.TimeQuery:
    """The time range, representation and projection of a temporal read from its URL."""
    url = request.query_params
    query = temporal.parse_time_query(
        timerel=url.get("timerel"),
        time_at=url.get("timeAt"),
        end_time_at=url.get("endTimeAt"),
        last_n=url.get("lastN"),
        attrs=tuple(attrs),
        options=_representation(request),
        timeproperty=url.get("timeproperty"),
        aggr_methods=url.get("aggrMethods"),
        aggr_period=url.get("aggrPeriodDuration"),
        dataset_id=url.get("datasetId"),
    )
    return _projected(query, params, active, attrs)


def _projected(
    query: temporal.TimeQuery, params: Mapping[str, str], active: ActiveContext, attrs: list[str]
) -> temporal.TimeQuery:
    """``pick``, ``omit`` (4.21) and ``lang`` (4.15) as entity reads take them; temporal reads
    follow no relationship, so a projection into linked entities is a 400 (5.7.3.4, 5.7.4.4)."""
    pick, omit = pick_and_omit(params, active, attrs=attrs)
    if tree_depth(pick) or tree_depth(omit):
        raise bad_data(text("temporal_pick_linked"))
    lang = params.get("lang")
    languages = parse_languages(lang) if lang is not None else None
    return replace(query, pick=pick, omit=omit, languages=languages)


def _respond(
    call: Call,
    active: ActiveContext,
    answer: temporal.TemporalAnswer,
    data: Any,
    headers: dict[str, str] | None = None,
) -> Response:
    """200, or 206 with a Content-Range when a series was cut at the server's page size."""
    if answer.content_range:
        headers = {**(headers or {}), "Content-Range": answer.content_range}
        return respond(call, active, data, status=206, headers=headers)
    return respond(call, active, data, headers=headers)


@router.get("/temporal/entities/{entity_id}")
def temporal_entity(request: Request, entity_id: str) -> Response:
    """One entity's attribute history over a time range; admins, dispatchers and API keys (anyone,
    when reads are public)."""
    call = call_for(request)
    check_entity_id(entity_id)
    active = call.resolve(call.link)
    attrs = names(request, "attrs", active, what="attribute name")
    query = _time_query(request, active, attrs, request.query_params)
    with call.ctx.reading() as session:
        answer = temporal.temporal_entity(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            query=query,
            active=active,
            page=call.ctx.settings.ngsild_temporal_page,
        )
    return _respond(call, active, answer, answer.entities[0])


@router.get("/temporal/entities")
def temporal_query(request: Request) -> Response:
    """Attribute histories of entities by type, id, idPattern, attrs, q, scopeQ or geo-query over
    a time range, paged; admins, dispatchers and API keys (anyone, when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    params = request.query_params
    selection = select_by_params(request, active)
    query = _time_query(request, active, selection.attrs, params)
    wide = params.get("type") == "*" or flag(params, "local")
    return _query(request, call, active, selection, query, params, wide=wide)


def _query(
    request: Request,
    call: Call,
    active: ActiveContext,
    selection: EntityQuery,
    query: temporal.TimeQuery,
    params: Mapping[str, str],
    *,
    wide: bool = False,
) -> Response:
    """Paging, ordering, count and the answer, shared by the GET and POST temporal queries."""
    settings = call.ctx.settings
    selection.limit = int_param(request, "limit", settings.ngsild_default_limit, low=1)
    selection.offset = int_param(request, "offset", 0)
    selection.count = flag(params, "count")
    check_limit(selection.limit, settings)
    if params.get("orderBy"):
        selection.order_by = parse_order_by(params["orderBy"])
        # 5.7.4.4: a temporal query orders by the entity id alone.
        if any(key.member != "id" for key in selection.order_by):
            raise bad_data(text("temporal_order_by"))
    with call.ctx.reading() as session:
        answer, total = temporal.temporal_query(
            session,
            tenant=call.tenant,
            selection=selection,
            query=query,
            active=active,
            page=settings.ngsild_temporal_page,
            wide=wide,
        )
    return _respond(call, active, answer, answer.entities, results_count(total))


@router.post("/temporal/entityOperations/query")
async def temporal_query_by_body(request: Request) -> Response:
    """A temporal query as a body (`{"type": "Query", "temporalQ": ..., ...}`, clause 6.24);
    paging and count stay in the URL. A read."""
    call, body, media = await call_with_body(request)
    return await run(_temporal_query_by_body, request, call, body, media)


def _temporal_query_by_body(request: Request, call: Call, body: Any, media: str) -> Response:
    active = call.resolve(user_context(call, body, media))
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_data(text("temporal_query_body", example='{"type": "Query", ...}'))
    selection = select_by_body(body, active)
    temporal_q = body.get("temporalQ") or {}
    aggr = body.get("aggrParams") or {}
    if not isinstance(temporal_q, dict):
        raise bad_data(text("temporal_q_not_object"))
    if not isinstance(aggr, dict):
        raise bad_data(text("temporal_aggr_params_not_object"))
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
    params = {**request.query_params, **body_parameters(body)}
    query = _projected(query, params, active, selection.attrs)
    return _query(request, call, active, selection, query, params, wide=body.get("local") is True)


def _text(members: dict[str, Any], name: str) -> str | None:
    value = members.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_data(text("temporal_q_member_not_string", name=name))
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
            delete_all=flag(params, "deleteAll"),
        )
    return Response(status_code=204)


@router.patch("/temporal/entities/{entity_id}/attrs/{attr}/{instance_id:path}")
async def patch_instance(request: Request, entity_id: str, attr: str, instance_id: str) -> Response:
    """Partially update one attribute instance; admins, dispatchers and API keys."""
    if not instance_id:
        # The path names the attribute itself, which only allows DELETE (6.21).
        raise NgsiError("MethodNotAllowed", text("temporal_patch_needs_instance"))
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
    raise bad_data(text("temporal_path_id_empty"))


@router.delete("/temporal/entities/{entity_id}/attrs//{rest:path}", include_in_schema=False)
def empty_temporal_attribute_name(entity_id: str, rest: str) -> Response:
    """A temporal instance deletion whose attribute name is empty: 400."""
    raise bad_data(text("temporal_path_attribute_empty"))
