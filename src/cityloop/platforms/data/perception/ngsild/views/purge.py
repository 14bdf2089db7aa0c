"""DELETE /entities?…: Purge Entities (clause 5.6.21)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import purge
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id, check_name
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.query import RequestBudget, parse_q, safe_regex
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import call_for, names

router = APIRouter()
_QUOTED = re.compile(r'"[^"]*"')


@router.delete("/entities")
def purge_entities(request: Request) -> Response:
    """Delete the entities a query selects (``keep``/``drop``: only attributes); 400 when the
    query is too wide; admins, dispatchers and API keys."""
    call = call_for(request)
    active = call.resolve(call.link)
    params = request.query_params
    for linked in ("q", "attrs"):
        # 5.6.21.4: Linked Entity retrieval (``owner{name}``) has no place in a purge; braces
        # inside a quoted q value are only text.
        if "{" in _QUOTED.sub("", params.get(linked, "")):
            raise bad_data(text("purge_linked", linked=linked))
    if params.get("scopeQ"):
        raise NgsiError("OperationNotSupported", text("purge_scope_q"))
    query = EntityQuery()
    budget = RequestBudget()
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
        query.geoproperty = active.expand(check_name(params["geoproperty"], "geoproperty"))
    order = purge.Purge(
        query=query,
        keep=names(request, "keep", active, what="attribute name") if "keep" in params else None,
        drop=names(request, "drop", active, what="attribute name") if "drop" in params else None,
        local=params.get("local", "").lower() == "true",
    )
    purge.check_purge(order, active=active)
    with call.ctx.writing() as session:
        purge.purge_entities(session, tenant=call.tenant, purge=order, active=active)
    return Response(status_code=204)
