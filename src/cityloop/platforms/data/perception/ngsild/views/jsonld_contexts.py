"""The @context resource (clauses 5.13, 6.30, 6.31): GET, POST and DELETE /jsonldContexts."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.platforms.data.perception.ngsild import jsonld_contexts
from cityloop.platforms.data.perception.ngsild.context_loader import (
    CORE_URL,
    core_document,
    is_core_url,
)
from cityloop.platforms.data.perception.ngsild.errors import bad_data, not_found
from cityloop.platforms.data.perception.ngsild.identifiers import path_segment
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import (
    JSON,
    PREFIX,
    Call,
    call_for,
    call_with_body,
    details,
    flag,
    run,
)

router = APIRouter()
CORE_INFO = {"URL": CORE_URL, "localId": "core", "kind": "Cached"}


def _core_url(context_id: str) -> str | None:
    """The core context URL an id names ("core" or any core URL), else None."""
    if context_id == "core":
        return CORE_URL
    return context_id if is_core_url(context_id) else None


@router.get("/jsonldContexts")
def list_jsonld_contexts(request: Request) -> Response:
    """The @contexts this broker hosts, made or caches for the tenant (URLs, or details), the
    core first; admins, dispatchers and API keys (anyone, when reads are public)."""
    call = call_for(request)
    kind = request.query_params.get("kind")
    if kind is not None and kind not in jsonld_contexts.KINDS:
        raise bad_data(text("context_kind"))
    with_details = details(request)
    with call.ctx.reading() as session:
        stored = jsonld_contexts.list_contexts(session, tenant=call.tenant, kind=kind)
        infos = [jsonld_contexts.context_info(row, call.base_url) for row in stored]
    if kind in (None, "Cached"):
        infos.insert(0, CORE_INFO)
    if with_details:
        return JSONResponse(infos, media_type=JSON)
    return JSONResponse([info["URL"] for info in infos], media_type=JSON)


@router.get("/jsonldContexts/{context_id:path}")
def get_jsonld_context(request: Request, context_id: str) -> Response:
    """A @context document the tenant sees, or its details; admins, dispatchers and API keys
    (anyone, when reads are public)."""
    call = call_for(request)
    with_details = details(request)
    core = _core_url(context_id)
    if core is not None:
        if with_details:
            return JSONResponse({**CORE_INFO, "URL": core}, media_type=JSON)
        return JSONResponse(core_document(core), media_type=JSON)
    with call.ctx.reading() as session:
        row = jsonld_contexts.find_context(session, tenant=call.tenant, context_id=context_id)
        if row is None:
            raise not_found(text("context_unknown", context=context_id[:200]))
        if with_details:
            return JSONResponse(jsonld_contexts.context_info(row, call.base_url), media_type=JSON)
        document = json.loads(row.body)
    return JSONResponse(document, media_type=JSON)


@router.post("/jsonldContexts")
async def post_jsonld_context(request: Request) -> Response:
    """Host a user @context document at a URL of this broker; admins, dispatchers and API keys."""
    call, body, _media = await call_with_body(request)
    return await run(_host, call, body)


def _host(call: Call, body: Any) -> Response:
    with call.ctx.writing() as session:
        row = jsonld_contexts.host_context(session, tenant=call.tenant, body=body)
        local_id = row.id
    return Response(
        status_code=201,
        headers={"Location": f"{PREFIX}/jsonldContexts/{path_segment(str(local_id))}"},
    )


@router.delete("/jsonldContexts/{context_id:path}")
def delete_jsonld_context(request: Request, context_id: str) -> Response:
    """Delete a @context the tenant sees; reload=true fetches a cached one again and keeps the
    old copy when that fails; admins, dispatchers and API keys."""
    call = call_for(request)
    reload = flag(request.query_params, "reload")
    if _core_url(context_id) is not None:
        if not reload:
            raise bad_data(text("core_context_kept"))
        return Response(status_code=204)  # shipped with the broker: nothing to fetch again
    if not reload:
        with call.ctx.writing() as session:
            jsonld_contexts.delete_context(session, tenant=call.tenant, context_id=context_id)
        return Response(status_code=204)
    with call.ctx.reading() as session:
        row = jsonld_contexts.find_context(session, tenant=call.tenant, context_id=context_id)
        url = row.url if row is not None and row.kind == "Cached" else None
    if url is None:
        raise bad_data(text("reload_cached_only"))
    document = call.loader().fetch(url)  # outside any transaction: it may take seconds
    with call.ctx.writing() as session:
        jsonld_contexts.replace_cached(session, url=url, document=document)
    return Response(status_code=204)
