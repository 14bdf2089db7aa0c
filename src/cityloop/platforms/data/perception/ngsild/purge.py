"""Purge Entities (clause 5.6.21, ``DELETE /entities?…``): delete every entity a query selects,
or with ``keep`` / ``drop`` only some of their attributes.

Which queries may purge (5.6.21.4): one that names a type, an attribute (``attrs``) or a
``q`` over at least one attribute that is not a system member, or a geo-query; an ``id`` or
``idPattern`` only narrows such a query. ``local=true`` alone qualifies (5.6.21.3: a purge
limited to the local scope needs no further restriction), and purges the whole tenant."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild.attributes import SYSTEM_MEMBERS
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.query import attribute_names
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery, query_entities
from cityloop.platforms.data.perception.ngsild.rows import save
from cityloop.platforms.data.perception.ngsild.tenants import require_tenant
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.writes import delete_entity

PAGE = 500


@dataclass
class Purge:
    """What to purge: the entities ``query`` selects, whole or only some attributes."""

    query: EntityQuery
    keep: list[str] | None = None  # expanded: every other attribute goes
    drop: list[str] | None = None  # expanded: these attributes go
    local: bool = False


def check_purge(purge: Purge, *, active: ActiveContext) -> None:
    """Refuse a purge that is too wide (5.6.21.4) or asks for keep and drop together."""
    if purge.keep is not None and purge.drop is not None:
        raise bad_data(text("purge_keep_and_drop"))
    query = purge.query
    system_iris = {active.expand(name) for name in SYSTEM_MEMBERS}
    user_attrs = [iri for iri in query.attrs if iri not in system_iris]
    user_q = query.q is not None and bool(attribute_names(query.q) - SYSTEM_MEMBERS)
    if purge.local or query.types or user_attrs or user_q or query.geo is not None:
        return
    raise bad_data(text("purge_too_wide"))


def purge_entities(session: Session, *, tenant: str, purge: Purge, active: ActiveContext) -> int:
    """Delete the selected entities, or the attributes ``keep``/``drop`` name; how many."""
    require_tenant(session, tenant=tenant)
    query = purge.query
    query.limit, query.offset, query.count = PAGE, 0, False
    done = 0
    while True:
        page, _ = query_entities(session, tenant=tenant, query=query, active=active)
        for row in page:
            if purge.keep is None and purge.drop is None:
                delete_entity(session, tenant=tenant, entity_id=row.entity_id)
                continue
            if purge.keep is not None:
                gone = [iri for iri in row.attrs if iri not in purge.keep]
            else:
                gone = [iri for iri in row.attrs if iri in (purge.drop or [])]
            if gone:
                save(
                    session,
                    row=row,
                    attrs={k: v for k, v in row.attrs.items() if k not in gone},
                    changed=gone,
                )
        done += len(page)
        if len(page) < PAGE:
            return done
        if purge.keep is not None or purge.drop is not None:
            # The rows stay, so the next page starts after them; deleted rows free their place.
            query.offset += len(page)
