"""PATCH /entities/{id}: Merge Entity (clause 5.6.17); the batch form is in :mod:`.batch`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import merge
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import (
    Call,
    call_with_body,
    options,
    run,
    user_context,
)

router = APIRouter()


@router.patch("/entities")
def merge_without_id() -> Response:
    """5.6.17.4: a merge whose entity id is missing is BadRequestData (not 405)."""
    raise bad_data(text("merge_id_missing"))


@router.patch("/entities/{entity_id}")
async def merge_entity(request: Request, entity_id: str) -> Response:
    """Merge a fragment into an entity: attributes added or merged, ``urn:ngsi-ld:null``
    deleting; ``options=keyValues`` takes bare values; admins, dispatchers and API keys."""
    call, body, media = await call_with_body(request)
    key_values = bool({"keyValues", "simplified"} & options(request))
    return await run(_merge, call, body, media, entity_id, key_values)


def _merge(call: Call, body: Any, media: str, entity_id: str, key_values: bool) -> Response:
    check_entity_id(entity_id)
    active = call.resolve(user_context(call, body, media))
    with call.ctx.writing() as session:
        merge.merge_entity(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            body=body,
            active=active,
            key_values=key_values,
        )
    return Response(status_code=204)
