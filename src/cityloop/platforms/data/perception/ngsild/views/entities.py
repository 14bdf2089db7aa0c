"""/entities/{id} and its attributes: create, read, replace, merge and delete an entity;
append, update, patch, replace and delete attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.platforms.data.perception.ngsild import writes
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id, check_name
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.identifiers import path_segment
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import (
    JSON,
    PREFIX,
    Call,
    call_for,
    call_with_body,
    flag,
    options,
    read_body,
    run,
    user_context,
)

router = APIRouter()


@router.post("/entities")
async def create_entity(request: Request) -> Response:
    """Create an NGSI-LD entity (409 when its id exists); admins, dispatchers and API keys."""
    call, body, media = await call_with_body(request)
    return await run(_create_entity, call, body, media)


def _create_entity(call: Call, body: Any, media: str) -> Response:
    active = call.resolve(user_context(call, body, media))
    with call.ctx.writing() as session:
        row = writes.create_entity(session, tenant=call.tenant, body=body, active=active)
        entity_id = row.entity_id
    return Response(
        status_code=201, headers={"Location": f"{PREFIX}/entities/{path_segment(entity_id)}"}
    )


def _type_selector(request: Request) -> list[str]:
    """The ``type`` parameter's entity type names (clause 4.17's selector), checked."""
    return [
        check_name(part.strip(), "entity type")
        for value in request.query_params.getlist("type")
        for part in value.replace("|", ",").split(",")
        if part.strip()
    ]


def _write(
    call: Call,
    body: Any,
    media: str,
    entity_id: str,
    action: Callable[..., Any],
    named: dict[str, Any],
    selector: list[str] | None = None,
) -> Response:
    """Check the id, resolve the body's context, then ``action`` in one unit of work: 204.
    ``selector`` is the type selector's names, if the operation takes one."""
    check_entity_id(entity_id)
    active = call.resolve(user_context(call, body, media))
    if selector is not None:
        named = {**named, "of_types": [active.expand(t) for t in selector]}
    with call.ctx.writing() as session:
        action(session, tenant=call.tenant, entity_id=entity_id, body=body, active=active, **named)
    return Response(status_code=204)


# Out of the OpenAPI document: one route of several methods gets an unstable operation id there.
@router.api_route(
    "/entities//attrs{rest:path}",
    methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
    include_in_schema=False,
)
def empty_entity_id(rest: str) -> Response:
    """An attribute operation whose entity id is empty: 400, as for any id that is no URI."""
    raise bad_data(text("read_path_id_empty"))


@router.put("/entities/{entity_id}")
async def replace_entity(request: Request, entity_id: str) -> Response:
    """Replace an entity: its attributes become exactly those given; admins, dispatchers and API
    keys."""
    call, body, media = await call_with_body(request)
    return await run(_write, call, body, media, entity_id, writes.replace_entity, {})


@router.delete("/entities/{entity_id}")
def delete_entity(request: Request, entity_id: str) -> Response:
    """Delete an entity; admins, dispatchers and API keys."""
    call = call_for(request)
    check_entity_id(entity_id)
    selector = _type_selector(request)
    active = call.resolve(call.link)
    with call.ctx.writing() as session:
        writes.delete_entity(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            of_types=[active.expand(t) for t in selector],
        )
    return Response(status_code=204)


@router.post("/entities/{entity_id}/attrs")
async def append_attributes(request: Request, entity_id: str) -> Response:
    """Add attributes to an entity (existing ones replaced unless noOverwrite); admins, dispatchers
    and API keys."""
    call, body, media = await call_with_body(request)
    no_overwrite = "noOverwrite" in options(request)
    selector = _type_selector(request)
    return await run(_attrs, call, body, media, entity_id, no_overwrite, True, selector)


@router.patch("/entities/{entity_id}/attrs")
async def update_attributes(request: Request, entity_id: str) -> Response:
    """Replace those of the attributes given that exist (207 naming the others); admins, dispatchers
    and API keys."""
    call, body, media = await call_with_body(request)
    selector = _type_selector(request)
    return await run(_attrs, call, body, media, entity_id, False, False, selector)


def _attrs(
    call: Call,
    body: Any,
    media: str,
    entity_id: str,
    no_overwrite: bool,
    append: bool,
    selector: list[str],
) -> Response:
    """Append (POST) or update (PATCH) attributes: 204, or 207 naming those left out."""
    check_entity_id(entity_id)
    active = call.resolve(user_context(call, body, media))
    of_types = [active.expand(t) for t in selector]
    with call.ctx.writing() as session:
        if append:
            result = writes.append_attributes(
                session,
                tenant=call.tenant,
                entity_id=entity_id,
                body=body,
                active=active,
                no_overwrite=no_overwrite,
                of_types=of_types,
            )
        else:
            result = writes.update_attributes(
                session,
                tenant=call.tenant,
                entity_id=entity_id,
                body=body,
                active=active,
                of_types=of_types,
            )
    if result.not_updated:
        return JSONResponse(result.body(active, call.locale), status_code=207, media_type=JSON)
    return Response(status_code=204)


async def _attribute_write(
    request: Request, entity_id: str, attr: str, action: Callable[..., Any]
) -> Response:
    call = call_for(request)
    body, media = await read_body(request, call)
    check_name(attr)
    selector = _type_selector(request)
    return await run(_write, call, body, media, entity_id, action, {"name": attr}, selector)


@router.patch("/entities/{entity_id}/attrs/{attr}")
async def patch_attribute(request: Request, entity_id: str, attr: str) -> Response:
    """Merge the members given into one existing attribute of an entity; admins, dispatchers and API
    keys."""
    return await _attribute_write(request, entity_id, attr, writes.patch_attribute)


@router.put("/entities/{entity_id}/attrs/{attr}")
async def replace_attribute(request: Request, entity_id: str, attr: str) -> Response:
    """Replace one existing attribute of an entity; admins, dispatchers and API keys."""
    return await _attribute_write(request, entity_id, attr, writes.replace_attribute)


@router.delete("/entities/{entity_id}/attrs/{attr}")
def delete_attribute(request: Request, entity_id: str, attr: str) -> Response:
    """Delete one attribute of an entity (one datasetId, or all instances); admins, dispatchers and
    API keys."""
    call = call_for(request)
    check_entity_id(entity_id)
    check_name(attr)
    active = call.resolve(call.link)
    params = request.query_params
    of_types = [active.expand(t) for t in _type_selector(request)]
    with call.ctx.writing() as session:
        writes.delete_attribute(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            name=attr,
            active=active,
            dataset_id=params.get("datasetId"),
            delete_all=flag(params, "deleteAll"),
            of_types=of_types,
        )
    return Response(status_code=204)
