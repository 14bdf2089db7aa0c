"""The @context resource: GET, POST and DELETE /jsonldContexts."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.platforms.data.perception.ngsild import jsonld_contexts
from cityloop.platforms.data.perception.ngsild.context_loader import CORE_DOCUMENT, CORE_URL
from cityloop.platforms.data.perception.ngsild.errors import bad_data, not_found
from cityloop.platforms.data.perception.ngsild.identifiers import path_segment
from cityloop.platforms.data.perception.ngsild.views.common import (
    JSON,
    LD_JSON,
    PREFIX,
    Call,
    call_for,
    call_with_body,
    details,
    run,
)

router = APIRouter()


def _is_core(context_id: str) -> bool:
    return context_id in ("core", CORE_URL)


@router.get("/jsonldContexts")
def list_jsonld_contexts(request: Request) -> Response:
    """The @contexts this broker hosts or caches (URLs, or details), the core first; admins,
    dispatchers and API keys (anyone, when reads are public)."""
    call = call_for(request)
    kind = request.query_params.get("kind")
    if kind is not None and kind not in ("Hosted", "Cached", "ImplicitlyCreated"):
        raise bad_data("kind must be Hosted, Cached or ImplicitlyCreated")
    with call.ctx.reading() as session:
        stored = jsonld_contexts.list_contexts(session, kind=kind)
        infos = [jsonld_contexts.context_info(row, call.base_url) for row in stored]
    core = {"url": CORE_URL, "URL": CORE_URL, "kind": "Cached", "localId": "core"}
    if kind in (None, "Cached"):
        infos.insert(0, core)
    if details(request):
        return JSONResponse(infos, media_type=JSON)
    return JSONResponse([info["url"] for info in infos], media_type=JSON)


@router.get("/jsonldContexts/{context_id:path}")
def get_jsonld_context(request: Request, context_id: str) -> Response:
    """A hosted or cached @context document, or its details; admins, dispatchers and API keys
    (anyone, when reads are public)."""
    call = call_for(request)
    if _is_core(context_id):
        return JSONResponse(CORE_DOCUMENT, media_type=LD_JSON)
    with call.ctx.reading() as session:
        row = jsonld_contexts.find_context(session, context_id=context_id)
        if row is None:
            raise not_found(f"@context {context_id} is not known here")
        if details(request):
            return JSONResponse(jsonld_contexts.context_info(row, call.base_url), media_type=JSON)
        document = json.loads(row.body)
    return JSONResponse(document, media_type=LD_JSON)


@router.post("/jsonldContexts")
async def post_jsonld_context(request: Request) -> Response:
    """Host a user @context document at a URL of this broker; admins, dispatchers and API keys."""
    call, body, _media = await call_with_body(request)
    return await run(_host, call, body)


def _host(call: Call, body: Any) -> Response:
    with call.ctx.writing() as session:
        row = jsonld_contexts.host_context(session, body=body)
        local_id = row.id
    return Response(
        status_code=201,
        headers={
            "Location": f"{call.base_url}{PREFIX}/jsonldContexts/{path_segment(str(local_id))}"
        },
    )


@router.delete("/jsonldContexts/{context_id:path}")
def delete_jsonld_context(request: Request, context_id: str) -> Response:
    """Delete a hosted or cached @context (reload=true fetches a cached one again); admins,
    dispatchers and API keys."""
    call = call_for(request)
    if _is_core(context_id):
        raise bad_data("the core @context cannot be deleted")
    reload = request.query_params.get("reload", "").lower() == "true"
    with call.ctx.writing() as session:
        row = jsonld_contexts.find_context(session, context_id=context_id)
        url = row.url if row is not None else None
        if reload and (row is None or row.kind != "Cached"):
            raise bad_data("reload=true applies to a cached @context only")
        jsonld_contexts.delete_context(session, context_id=context_id)
    if reload and url:
        call.resolve(url)  # fetch again now, so a broken source shows at once
    return Response(status_code=204)
