"""Entity reads: GET /entities/{id}, GET /entities, and POST /entityOperations/query for
queries too long for a URL; all three share the rendering parameters (options, format, pick,
omit, lang, datasetId, join, joinLevel, geometryProperty) and the GeoJSON answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.platforms.data.perception.ngsild import reads, retrieval
from cityloop.platforms.data.perception.ngsild.attributes import RESERVED_NAMES
from cityloop.platforms.data.perception.ngsild.context import ActiveContext, link_header
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id, check_name
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.geojson import GEOJSON
from cityloop.platforms.data.perception.ngsild.ordering import (
    parse_collation,
    parse_order_by,
    parse_origin,
)
from cityloop.platforms.data.perception.ngsild.projection import ReadOptions, read_options
from cityloop.platforms.data.perception.ngsild.query import (
    RequestBudget,
    linked_depth,
    parse_q,
    safe_regex,
)
from cityloop.platforms.data.perception.ngsild.scopes import parse_scope_q
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.versions import downgrade
from cityloop.platforms.data.perception.ngsild.views.common import (
    JSON,
    LD_JSON,
    Call,
    call_for,
    call_with_body,
    check_limit,
    flag,
    int_param,
    respond,
    results_count,
    run,
    user_context,
)

router = APIRouter()
# Members of a Query body (5.2.23) that shape the answer as the URL parameters of that name do.
_BODY_RENDERING = (
    "pick",
    "omit",
    "lang",
    "join",
    "joinLevel",
    "datasetId",
    "containedBy",
    "orderBy",
)


@router.get("/entities/{entity_id}")
def get_entity(request: Request, entity_id: str) -> Response:
    """One entity, as the read's options shape it, in the requested @context; admins, dispatchers
    and API keys (anyone, when reads are public)."""
    call = call_for(request, offered=(JSON, LD_JSON, GEOJSON))
    active = call.resolve(call.link)
    check_entity_id(entity_id)
    params = request.query_params
    options = _options(request, call, params, active, _attrs(params.get("attrs"), active))
    types = _types(params.get("type"), active) if params.get("type") else []
    with call.ctx.reading() as session:
        data = retrieval.retrieve(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            types=[t for group in types for t in group],
            options=options,
            active=active,
        )
    return _respond(call, active, data, options)


@router.get("/entities")
def query_entities(request: Request) -> Response:
    """Query entities by type, id, idPattern, q, scopeQ and geo-query, paged and ordered; admins,
    dispatchers and API keys (anyone, when reads are public)."""
    call = call_for(request, offered=(JSON, LD_JSON, GEOJSON))
    active = call.resolve(call.link)
    params = request.query_params
    query = select_by_params(request, active)
    options = _options(request, call, params, active, query.attrs)
    local = flag(params, "local")
    if params.get("type") == "*" and "local" in params and not local:
        # 4.17: the type wildcard is for local queries; local=false contradicts it.
        raise bad_data(text("query_wildcard_not_local"))
    wide = params.get("type") == "*" or local
    return _answer(request, call, active, query, options, params, wide=wide)


@router.post("/entityOperations/query")
async def query_entities_by_body(request: Request) -> Response:
    """The query as a body (`{"type": "Query", ...}`), for queries too long for a URL; paging,
    count and options stay in the URL as for GET /entities."""
    call, body, media = await call_with_body(request, offered=(JSON, LD_JSON, GEOJSON))
    return await run(_query_by_body, request, call, body, media)


def _query_by_body(request: Request, call: Call, body: Any, media: str) -> Response:
    active = call.resolve(user_context(call, body, media))
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_data(text("query_body_not_query", shape='{"type": "Query", ...}'))
    if "temporalQ" in body:
        raise bad_data(text("query_temporal_q"))
    query = select_by_body(body, active)
    params = {**request.query_params, **body_parameters(body)}
    if body.get("ordering") is not None:
        params.update(_ordering(query, body["ordering"]))
    if body.get("expandValues") is not None:
        if not isinstance(body["expandValues"], str | list):
            raise bad_data(text("query_not_attribute_names", name="expandValues"))
        values = body["expandValues"]
        params["expandValues"] = values if isinstance(values, str) else ",".join(map(str, values))
    options = _options(request, call, params, active, query.attrs)
    return _answer(request, call, active, query, options, params, wide=body.get("local") is True)


def select_by_params(request: Request, active: ActiveContext) -> reads.EntityQuery:
    """The entity selection of a query's URL (type, id, idPattern, attrs, q, scopeQ, geo-query),
    checked; shared by GET /entities and GET /temporal/entities."""
    params = request.query_params
    if "geoQ" in params:
        # geoQ is the Query body's member (5.2.23); the URL spells it out (6.4.3.2).
        raise bad_data(text("query_geo_q_in_url"))
    query = reads.EntityQuery()
    budget = RequestBudget()  # shared by idPattern and q's patterns over all rows
    if params.get("type") and params["type"] != "*":
        _select_types(query, _types(params["type"], active))
    for value in params.getlist("id"):
        query.ids.extend(check_entity_id(part.strip()) for part in value.split(",") if part)
    if params.get("idPattern") and not query.ids:  # 4.17: id takes precedence over idPattern
        query.id_pattern = safe_regex(params["idPattern"], "idPattern", budget)
    query.attrs = _attrs(params.get("attrs"), active)
    if params.get("q"):
        query.q = parse_q(params["q"], budget)
    if params.get("scopeQ"):
        query.scope_q = parse_scope_q(params["scopeQ"])
    if "csf" in params:
        _check_csf(params["csf"], budget)
    query.geo = parse_geoquery(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
    )
    if query.geo is not None and params.get("geoproperty"):
        check_name(params["geoproperty"], "geoproperty")
        query.geoproperty = active.expand(params["geoproperty"])
    return query


def _check_csf(csf: str, budget: RequestBudget) -> None:
    """``csf`` (4.9) filters context source registrations, of which this broker has none, so it
    selects nothing away; written in the q language, a malformed one is still a 400 naming it."""
    try:
        parse_q(csf, budget)
    except NgsiError as error:
        # The q error's own detail, in each language, after the name of the parameter.
        reason, reason_zh = error.detail_in("en"), error.detail_in("zh-CN")
        raise bad_data(text("query_csf", reason=reason, reason_zh=reason_zh)) from None


def select_by_body(body: dict[str, Any], active: ActiveContext) -> reads.EntityQuery:
    """The entity selection of a Query body (entities, attrs, q, scopeQ, geoQ), checked; shared by
    POST /entityOperations/query and POST /temporal/entityOperations/query."""
    query = reads.EntityQuery()
    budget = RequestBudget()
    _select_entities(query, body.get("entities", []), active, budget)
    attrs = body.get("attrs", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise bad_data(text("query_not_attribute_names", name="attrs"))
    if "attrs" in body and not attrs:
        raise bad_data(text("query_attrs_empty"))
    query.attrs = _attrs(",".join(attrs), active)
    if body.get("q") is not None:
        if not isinstance(body["q"], str):
            raise bad_data(text("query_q_not_string"))
        query.q = parse_q(body["q"], budget)
    if body.get("scopeQ") is not None:
        if not isinstance(body["scopeQ"], str):
            raise bad_data(text("query_scope_q_not_string"))
        query.scope_q = parse_scope_q(body["scopeQ"])
    geo = body.get("geoQ")
    if geo is not None:
        _geo_query(query, geo, active)
    return query


def body_parameters(body: dict[str, Any]) -> dict[str, str]:
    """The Query body's rendering members as URL parameters (lists joined with commas)."""
    found: dict[str, str] = {}
    for name in _BODY_RENDERING:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise bad_data(text("query_not_strings", name=name))
        found[name] = value
    return found


def _attrs(listed: str | None, active: ActiveContext) -> list[str]:
    """The ``attrs`` list (comma or ``|``), expanded; core members are not attributes."""
    out: list[str] = []
    for part in (listed or "").replace("|", ",").split(","):
        if not part.strip():
            continue
        name = check_name(part.strip(), "attribute name")
        if name in RESERVED_NAMES:
            raise bad_data(text("query_attrs_core_member", name=repr(name)))
        out.append(active.expand(name))
    return out


def _types(selection: str, active: ActiveContext) -> list[list[str]]:
    """A type selection (4.17): ``,`` or ``|`` separate alternatives, ``;`` joins types an
    entity must all have, parentheses group; as alternatives of expanded types."""
    groups: list[list[str]] = []
    for alternative in _split_outside_parentheses(selection):
        names = alternative.strip().removeprefix("(").removesuffix(")").split(";")
        group = []
        for name in names:
            check_name(name.strip(), "entity type")
            group.append(active.expand(name.strip()))
        groups.append(group)
    return groups


def _split_outside_parentheses(selection: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in selection:
        depth += (char == "(") - (char == ")")
        if depth < 0 or depth > 1:
            raise bad_data(text("query_type_parentheses"))
        if char in ",|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise bad_data(text("query_type_parentheses"))
    parts.append("".join(current))
    return parts


def _select_types(query: reads.EntityQuery, groups: list[list[str]]) -> None:
    """Plain alternatives narrow in SQL; a group of types all required is checked per row."""
    if all(len(group) == 1 for group in groups):
        query.types = [group[0] for group in groups]
    else:
        query.type_groups = groups


def _options(
    request: Request,
    call: Call,
    params: Mapping[str, str],
    active: ActiveContext,
    attrs: list[str],
) -> ReadOptions:
    """The rendering parameters; the GeoJSON answer is asked for by Accept or format."""
    geojson = call.media == GEOJSON
    option_values = request.query_params.getlist("options")
    return read_options(params, option_values, active, attrs=attrs, geojson_accepted=geojson)


def _select_entities(
    query: reads.EntityQuery, selectors: Any, active: ActiveContext, budget: RequestBudget
) -> None:
    """The body's ``entities`` selectors (5.2.33): each a type, and ids or an idPattern."""
    if not isinstance(selectors, list) or not all(isinstance(e, dict) for e in selectors):
        raise bad_data(text("query_entities_not_selectors", shape="{type, id, idPattern}"))
    for selector in selectors:
        type_name = selector.get("type")
        if not isinstance(type_name, str):
            raise bad_data(text("query_selector_needs_type"))
        ids = selector.get("id", [])
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list):
            raise bad_data(text("query_selector_ids"))
        pattern = selector.get("idPattern")
        if pattern is not None and not isinstance(pattern, str):
            raise bad_data(text("geo_member_not_string", name="idPattern"))
        query.selectors.append(
            reads.Selector(
                types=[t for group in _types(type_name, active) for t in group],
                ids=[check_entity_id(i) for i in ids],
                # 4.17: id takes precedence over idPattern.
                pattern=safe_regex(pattern, "idPattern", budget) if pattern and not ids else None,
            )
        )
    if len(query.selectors) == 1 and not query.selectors[0].pattern:
        only = query.selectors.pop()
        query.types, query.ids = only.types, only.ids


def _geo_query(query: reads.EntityQuery, geo: Any, active: ActiveContext) -> None:
    """The body's ``geoQ``, as the URL's georel, geometry, coordinates and geoproperty."""
    if not isinstance(geo, dict):
        raise bad_data(text("query_geo_q_not_object"))
    for member in ("georel", "geometry"):
        if not isinstance(geo.get(member), str | None):
            raise bad_data(text("query_geo_q_member", member=member))
    coordinates = geo.get("coordinates")
    if not isinstance(coordinates, str):
        if not isinstance(coordinates, list):
            raise bad_data(text("query_geo_q_coordinates"))
        coordinates = json.dumps(coordinates)
    geoproperty = geo.get("geoproperty")
    query.geo = parse_geoquery(geo.get("georel"), geo.get("geometry"), coordinates, geoproperty)
    if geoproperty:
        check_name(geoproperty, "geoproperty")
        query.geoproperty = active.expand(geoproperty)


def _answer(
    request: Request,
    call: Call,
    active: ActiveContext,
    query: reads.EntityQuery,
    options: ReadOptions,
    params: Mapping[str, str],
    *,
    wide: bool,
) -> Response:
    """Paging, ordering, count and rendering, shared by GET /entities and the Query body."""
    settings = call.ctx.settings
    if not query.selects() and not wide:
        raise bad_data(text("query_too_wide"))
    query.count = flag(params, "count")
    query.limit = int_param(request, "limit", settings.ngsild_default_limit)
    query.offset = int_param(request, "offset", 0)
    check_limit(query.limit, settings)
    if query.limit == 0 and not query.count:
        raise bad_data(text("query_limit_zero"))
    _order(query, params)
    depth = linked_depth(query.q) if query.q is not None else 0
    if depth and (options.join is None or depth > options.join_level):
        # 5.7.2.4: a linked-entity query deeper than the linked entity retrieval asked for.
        raise bad_data(text("query_linked_too_deep", depth=depth))
    if params.get("expandValues") and query.q is not None:
        names = {name.strip() for name in params["expandValues"].split(",") if name.strip()}
        query.q = reads.expand_values(query.q, names, active.expand)
    with call.ctx.reading() as session:
        data, total, more = retrieval.query(
            session, tenant=call.tenant, entity_query=query, options=options, active=active
        )
    response = _respond(call, active, data, options, headers=results_count(total))
    if request.method == "GET":
        for link in _page_links(request, query, more):
            response.headers.append("Link", link)
    return response


def _order(query: reads.EntityQuery, params: Mapping[str, str]) -> None:
    """orderBy, collation and the reference of distance ordering (4.23), checked."""
    if params.get("orderBy"):
        query.order_by = parse_order_by(params["orderBy"])
    if "collation" in params:
        query.collation = parse_collation(params["collation"])
    if any(key.distance for key in query.order_by) and query.order_from is None:
        if not params.get("orderFrom"):
            raise bad_data(text("order_needs_origin"))
        query.order_from = parse_origin(params["orderFrom"])


def _ordering(query: reads.EntityQuery, ordering: Any) -> dict[str, str]:
    """A Query body's ``ordering`` (OrderingParams, 5.2.43): the reference geometry goes on
    ``query``; orderBy and collation come back as the URL parameters of that name."""
    if not isinstance(ordering, dict):
        raise bad_data(text("order_body_not_object"))
    order_by = ordering.get("orderBy")
    if isinstance(order_by, str):
        order_by = [order_by]
    if not isinstance(order_by, list) or not all(isinstance(k, str) for k in order_by):
        raise bad_data(text("order_body_order_by"))
    found = {"orderBy": ",".join(order_by)}
    if "collation" in ordering:
        if not isinstance(ordering["collation"], str):
            raise bad_data(text("order_body_member", member="collation"))
        found["collation"] = ordering["collation"]
    geometry = ordering.get("geometry", "Point")
    if not isinstance(geometry, str):
        raise bad_data(text("order_body_member", member="geometry"))
    if "coordinates" in ordering:
        if not isinstance(ordering["coordinates"], list):
            raise bad_data(text("order_body_coordinates"))
        query.order_from = parse_origin(ordering["coordinates"], geometry)
    return found


def _page_links(request: Request, query: reads.EntityQuery, more: bool) -> list[str]:
    """4.12, 6.3.13: Link headers to the previous and the next page, when there are some."""
    pages = []
    if query.offset > 0:
        pages.append(("prev", max(query.offset - query.limit, 0)))
    if more:
        pages.append(("next", query.offset + query.limit))
    links = []
    for relation, offset in pages:
        params = {**request.query_params, "offset": str(offset), "limit": str(query.limit)}
        # The collection is /entities, however the request spelt it (a trailing slash).
        target = (
            f"{request.url.path.rstrip('/')}?{urlencode(sorted(params.items()), safe=':/*,;|')}"
        )
        links.append(f'<{target}>; rel="{relation}"; type="application/json"')
    return links


def _respond(
    call: Call,
    active: ActiveContext,
    data: Any,
    options: ReadOptions,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON or JSON-LD as common.respond gives it; GeoJSON carries @context at its top."""
    if not options.geojson:
        status = 200
        if call.version:
            # 4.3.6.8: attribute types the preferred version lacks fall back; 203 says so.
            data, altered = downgrade(data, call.version)
            status = 203 if altered else 200
        return respond(call, active, data, status=status, headers=headers)
    if call.body_json:
        # 6.3.6: Prefer body=json keeps the @context out of the body, in a Link header.
        linked = {**(headers or {}), "Link": link_header(active.link_url)}
        return JSONResponse(data, headers=linked, media_type=GEOJSON)
    body = {**data, "@context": active.body_context}
    return JSONResponse(body, headers=headers, media_type=GEOJSON)
