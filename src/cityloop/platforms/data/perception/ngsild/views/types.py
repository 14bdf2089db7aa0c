"""What the entities hold: GET /types, /types/{type}, /attributes and /attributes/{attr}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import reads
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import check_name
from cityloop.platforms.data.perception.ngsild.errors import not_found
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import call_for, details, respond

router = APIRouter()


@router.get("/types")
# Listed before /types/{type_name:path}, which would otherwise take "/types/" for a type "".
@router.get("/types/", include_in_schema=False)
def list_types(request: Request) -> Response:
    """The entity types in use (names, or details with their attributes); admins, dispatchers and
    API keys (anyone, when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    with call.ctx.reading() as session:
        if not details(request):
            type_names = [active.compact(t) for t in reads.list_types(session, tenant=call.tenant)]
            data: Any = {
                "id": f"urn:ngsi-ld:EntityTypeList:{call.tenant or 'default'}",
                "type": "EntityTypeList",
                "typeList": type_names,
            }
        else:
            found = reads.type_details(session, tenant=call.tenant)
            data = [
                {
                    "id": iri,
                    "type": "EntityType",
                    "typeName": active.compact(iri),
                    "attributeNames": sorted(active.compact(a) for a in entry["attributes"]),
                }
                for iri, entry in sorted(found.items())
            ]
    return respond(call, active, data)


@router.get("/types/{type_name:path}")
def type_info(request: Request, type_name: str) -> Response:
    """One entity type (EntityTypeInfo, 5.2.26): how many entities have it and their attributes;
    admins, dispatchers and API keys (anyone, when reads are public). The type may be given
    expanded, URL-encoded."""
    call = call_for(request)
    active = call.resolve(call.link)
    check_name(type_name, "entity type")
    iri = active.expand(type_name)
    with call.ctx.reading() as session:
        entry = reads.type_details(session, tenant=call.tenant).get(iri)
    if entry is None:
        raise not_found(text("type_unknown", name=type_name))
    data = {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": active.compact(iri),
        "entityCount": entry["count"],
        "attributeDetails": [
            {
                "id": attribute,
                "type": "Attribute",
                "attributeName": active.compact(attribute),
                "attributeTypes": sorted(kinds),
            }
            for attribute, kinds in sorted(entry["attributes"].items())
        ],
    }
    return respond(call, active, data)


@router.get("/attributes")
@router.get("/attributes/", include_in_schema=False)
def list_attributes(request: Request) -> Response:
    """The attribute names in use (names, or details); admins, dispatchers and API keys (anyone,
    when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    with call.ctx.reading() as session:
        found = reads.attribute_details(session, tenant=call.tenant)
    if not details(request):
        data: Any = {
            "id": f"urn:ngsi-ld:AttributeList:{call.tenant or 'default'}",
            "type": "AttributeList",
            "attributeList": sorted(active.compact(a) for a in found),
        }
    else:
        # 5.7.8: the detailed list names each attribute and its entity types; counts and
        # attribute types are for /attributes/{attr} (5.7.9).
        data = [
            {
                key: value
                for key, value in _attribute(active, iri, entry).items()
                if key not in ("attributeCount", "attributeTypes")
            }
            for iri, entry in sorted(found.items())
        ]
    return respond(call, active, data)


def _attribute(active: ActiveContext, iri: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": iri,
        "type": "Attribute",
        "attributeName": active.compact(iri),
        "attributeCount": entry["count"],
        "attributeTypes": sorted(entry["kinds"]),
        "typeNames": sorted(active.compact(t) for t in entry["types"]),
    }


@router.get("/attributes/{attr:path}")
def attribute_info(request: Request, attr: str) -> Response:
    """One attribute: how many entities have it, its types and entity types; admins, dispatchers and
    API keys (anyone, when reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    check_name(attr)
    iri = active.expand(attr)
    with call.ctx.reading() as session:
        entry = reads.attribute_details(session, tenant=call.tenant).get(iri)
    if entry is None:
        raise not_found(text("attribute_unknown", name=attr))
    return respond(call, active, _attribute(active, iri, entry))
