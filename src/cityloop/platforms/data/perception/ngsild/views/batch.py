"""Batch operations: POST /entityOperations/create, upsert, update, merge and delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.base.locale import request_locale
from cityloop.platforms.data.perception.ngsild import batch
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, not_found
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import (
    JSON,
    LD_JSON,
    Call,
    call_with_body,
    options,
    run,
)

router = APIRouter()


@router.post("/entityOperations/{operation}")
async def entity_operation(request: Request, operation: str) -> Response:
    """Batch create, upsert, update, merge or delete of entities, each reported on its own;
    admins, dispatchers and API keys."""
    if operation not in batch.OPERATIONS:
        raise not_found(text("batch_operation_unknown", operation=operation))
    call, body, media = await call_with_body(request)
    return await run(
        _batch, call, body, media, operation, options(request), request_locale(request)
    )


def _batch(
    call: Call, body: Any, media: str, operation: str, asked: set[str], locale: str
) -> Response:
    batch.check_batch(body, operation=operation, maximum=call.ctx.settings.ngsild_batch_max)
    if media == LD_JSON and call.link is not None:
        # 6.3.5: the @context of a JSON-LD body is in the body, never in a Link header too.
        raise bad_data(text("batch_ld_link"))
    core = call.resolve(call.link if media == JSON else None)
    if operation == "delete":
        with call.ctx.writing() as session:
            result = batch.batch_delete(session, tenant=call.tenant, ids=body)
        return _answer(result, operation, locale)
    early = batch.BatchResult()
    items = _with_contexts(call, body, media, core, early)
    with call.ctx.writing() as session:
        if operation == "create":
            result = batch.batch_create(session, tenant=call.tenant, items=items)
        elif operation == "upsert":
            result = batch.batch_upsert(
                session, tenant=call.tenant, items=items, update_mode="update" in asked
            )
        elif operation == "merge":
            result = batch.batch_merge(session, tenant=call.tenant, items=items)
        else:
            result = batch.batch_update(
                session, tenant=call.tenant, items=items, no_overwrite="noOverwrite" in asked
            )
    result.failures = early.failures + result.failures
    return _answer(result, operation, locale)


def _with_contexts(
    call: Call, body: list[Any], media: str, core: ActiveContext, early: batch.BatchResult
) -> list[tuple[Any, ActiveContext]]:
    """Each entity with its resolved @context (its own for ld+json, else the request's),
    before the unit of work opens; an entity whose context fails goes to ``early``."""
    items: list[tuple[Any, ActiveContext]] = []
    for item in body:
        try:
            if media == LD_JSON:
                if not isinstance(item, dict) or "@context" not in item:
                    raise bad_data(text("batch_item_needs_context"))
                items.append((item, call.resolve(item["@context"])))
            else:
                if isinstance(item, dict) and "@context" in item:
                    raise bad_data(text("batch_item_no_context"))
                items.append((item, core))
        except NgsiError as exc:
            early.fail(item.get("id") if isinstance(item, dict) else None, exc)
    return items


def _answer(result: batch.BatchResult, operation: str, locale: str) -> Response:
    """207 with the errors (in the reader's language) if any; else 201 with the ids created,
    or 204."""
    if result.failures:
        return JSONResponse(result.body(locale), status_code=207, media_type=JSON)
    if operation == "create":
        return JSONResponse(result.success, status_code=201, media_type=JSON)
    if operation == "upsert" and result.created:
        return JSONResponse(result.created, status_code=201, media_type=JSON)
    return Response(status_code=204)
