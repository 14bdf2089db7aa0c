"""Entity reads as a client receives them (ETSI GS CIM 009 5.7.1 retrieve, 5.7.2 query): the
matching rows rendered with the read's options, their linked entities joined, and GeoJSON
when asked for."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild import reads, rows
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import not_found
from cityloop.platforms.data.perception.ngsild.geojson import feature, feature_collection
from cityloop.platforms.data.perception.ngsild.joins import join_linked
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.projection import ReadOptions
from cityloop.platforms.data.perception.ngsild.texts import text


def _render(
    found: list[NgsiEntity], active: ActiveContext, options: ReadOptions
) -> list[tuple[NgsiEntity, dict[str, Any]]]:
    return [(row, options.render(rows.view_of(row), active)) for row in found]


def _finish(
    session: Session,
    *,
    tenant: str,
    rendered: list[tuple[NgsiEntity, dict[str, Any]]],
    active: ActiveContext,
    options: ReadOptions,
) -> list[dict[str, Any]]:
    """Join the rendered entities' linked entities, and make them GeoJSON Features if asked."""
    if options.join:
        data = join_linked(session, tenant=tenant, found=rendered, active=active, options=options)
    else:
        data = [entity for _, entity in rendered]
    if not options.geojson:
        return data
    attrs = {row.entity_id: row.attrs or {} for row, _ in rendered}
    return [
        feature(
            entity.get("id", ""),
            entity,
            attrs.get(entity.get("id", ""), {}),
            options.geometry_property,
        )
        for entity in data
    ]


def retrieve(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    types: list[str],
    options: ReadOptions,
    active: ActiveContext,
) -> Any:
    """One entity as the client asked for it (a list when ``join=flat`` brought others)."""
    # 5.7.1.4: an entity of none of the asked types, or with none of the asked attributes, or
    # projected down to nothing, is ResourceNotFound.
    row = rows.get_entity(session, tenant=tenant, entity_id=entity_id)
    if types and not set(types) & set(row.types or [row.type]):
        raise not_found(text("read_not_of_type", entity=entity_id))
    if options.attrs is not None and not options.attrs & set(row.attrs or {}):
        raise not_found(text("read_no_asked_attributes", entity=entity_id))
    rendered = _render([row], active, options)
    if not rendered[0][1]:
        raise not_found(text("read_projected_away", entity=entity_id))
    data = _finish(session, tenant=tenant, rendered=rendered, active=active, options=options)
    if options.join == "flat" and len(data) > 1:
        return data
    return data[0]


def query(
    session: Session,
    *,
    tenant: str,
    entity_query: reads.EntityQuery,
    options: ReadOptions,
    active: ActiveContext,
) -> tuple[Any, int | None, bool]:
    """One page of matching entities as the client asked for them, the count if asked, and
    whether more entities follow the page."""
    # One row more than the page tells whether a next page exists.
    probe = replace(entity_query, limit=entity_query.limit + 1)
    found, total = reads.query_entities(session, tenant=tenant, query=probe, active=active)
    more = len(found) > entity_query.limit
    found = found[: entity_query.limit]
    # 4.21: an entity that pick or omit leaves empty is not part of the answer.
    rendered = [(row, entity) for row, entity in _render(found, active, options) if entity]
    data = _finish(session, tenant=tenant, rendered=rendered, active=active, options=options)
    return (feature_collection(data) if options.geojson else data), total, more
