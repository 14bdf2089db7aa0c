"""Reading entities: queries (GET /entities, POST /entityOperations/query), and the types and
attributes the entities have."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild.attributes import RESERVED_NAMES
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import LOCATION
from cityloop.platforms.data.perception.ngsild.geo import GeoQuery, evaluate_georel, haversine
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.ordering import Collation, OrderKey, sort_rows
from cityloop.platforms.data.perception.ngsild.patterns import ClientPattern
from cityloop.platforms.data.perception.ngsild.query import (
    And,
    Compare,
    LinkedLoader,
    Node,
    Or,
    attribute_names,
    evaluate_q,
)
from cityloop.platforms.data.perception.ngsild.scopes import ScopeNode, evaluate_scope_q
from cityloop.platforms.data.perception.ngsild.tenants import require_tenant


@dataclass
class Selector:
    """One of a Query body's entity selectors: types (any of), and ids or an id pattern."""

    types: list[str]  # expanded
    ids: list[str] = field(default_factory=list)
    pattern: ClientPattern | None = None

    def matches(self, row: NgsiEntity) -> bool:
        if not set(self.types) & set(row.types or [row.type]):
            return False
        if self.ids and row.entity_id not in self.ids:
            return False
        return self.pattern is None or bool(self.pattern.search(row.entity_id))


@dataclass
class EntityQuery:
    types: list[str] = field(default_factory=list)  # expanded; any of them, as first type
    # Alternatives of types an entity must all have, e.g. (Building;Museum),Park.
    type_groups: list[list[str]] = field(default_factory=list)
    selectors: list[Selector] = field(default_factory=list)  # any of them
    ids: list[str] = field(default_factory=list)
    id_pattern: ClientPattern | None = None
    attrs: list[str] = field(default_factory=list)  # expanded
    q: Node | None = None
    scope_q: ScopeNode | None = None
    geo: GeoQuery | None = None
    geoproperty: str = LOCATION  # expanded
    limit: int = 20
    offset: int = 0
    count: bool = False
    order_by: list[OrderKey] = field(default_factory=list)
    collation: Collation | None = None
    order_from: Any = None  # the reference geometry of distance ordering (shapely)

    def selects(self) -> bool:
        """Whether the query names what to select by (5.7.2.4, 5.7.4.4): a type, attrs, q,
        scopeQ or a geo-query. ids and idPattern only narrow those, and a q on system members
        alone (createdAt, modifiedAt) does not count."""
        q_selects = self.q is not None and bool(attribute_names(self.q) - RESERVED_NAMES)
        chosen = self.types or self.type_groups or self.selectors or self.attrs or self.scope_q
        return bool(chosen or q_selects or self.geo)


def _literal_prefix(pattern: str) -> str | None:
    """The literal start of an anchored regex (``^urn:ngsi-ld:Bin:.*``), for an index range.

    Only a prefix every match must start with: none under alternation (``^a|b``) or inline
    flags (``(?i)`` may make the whole pattern case-insensitive), and the literal a ``?``,
    ``*`` or ``{`` quantifies is optional, so it is left out."""
    if not pattern.startswith("^") or "|" in pattern or "(?" in pattern:
        return None
    prefix = []
    for char in pattern[1:]:
        if char in ".^$*+?{}[]\\|()":
            if char in "?*{" and prefix:
                prefix.pop()
            break
        prefix.append(char)
    return "".join(prefix) or None


def id_prefix_filter(pattern: ClientPattern) -> Any | None:
    """An indexed LIKE on entity_id for an anchored pattern's literal start, or None."""
    # The regex itself still runs on the rows it lets through.
    prefix = _literal_prefix(pattern.pattern)
    if not prefix:
        return None
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return NgsiEntity.entity_id.like(escaped + "%", escape="\\")


def query_entities(
    session: Session, *, tenant: str, query: EntityQuery, active: ActiveContext
) -> tuple[list[NgsiEntity], int | None]:
    """Matching entities (one page) and, when asked, how many match in all."""
    # SQL narrows by tenant, type, ids, an id prefix and the location bounding box (all indexed);
    # the q language, regexes and exact geometry then run on the candidates.
    require_tenant(session, tenant=tenant)
    statement = select(NgsiEntity).where(NgsiEntity.tenant == tenant)
    if query.types:
        statement = statement.where(NgsiEntity.type.in_(query.types))
    if query.selectors and all(s.ids for s in query.selectors):
        ids = [i for s in query.selectors for i in s.ids]
        statement = statement.where(NgsiEntity.entity_id.in_(ids))
    if query.ids:
        statement = statement.where(NgsiEntity.entity_id.in_(query.ids))
    if query.id_pattern is not None:
        narrowed = id_prefix_filter(query.id_pattern)
        if narrowed is not None:
            statement = statement.where(narrowed)
    box = query.geo.bbox() if query.geo is not None else None
    if box is not None and query.geoproperty == LOCATION:
        min_lon, min_lat, max_lon, max_lat = box
        span = session.scalar(
            select(func.max(NgsiEntity.lat_span)).where(NgsiEntity.tenant == tenant)
        )
        statement = statement.where(
            NgsiEntity.min_lat.between(min_lat - (span or 0.0), max_lat),
            NgsiEntity.max_lat >= min_lat,
            NgsiEntity.min_lon <= max_lon,
            NgsiEntity.max_lon >= min_lon,
        )
    statement = statement.order_by(NgsiEntity.id)
    load = linked_loader(session, tenant=tenant)
    in_python = (
        query.q is not None
        or bool(query.type_groups)
        or bool(query.selectors)
        or query.scope_q is not None
        or query.geo is not None
        or bool(query.attrs)
        or query.id_pattern is not None
    )
    if query.order_by:
        # Any member may order the answer, so every match is read, sorted, then paged.
        candidates = session.scalars(statement.execution_options(yield_per=500))
        ordered = sort_rows(
            [row for row in candidates if not in_python or matches(row, query, active, load)],
            query.order_by,
            active.expand,
            collation=query.collation,
            origin=query.order_from,
        )
        page = ordered[query.offset : query.offset + query.limit]
        return page, (len(ordered) if query.count else None)
    if not in_python:
        total = None
        if query.count:
            total = session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = list(session.scalars(statement.offset(query.offset).limit(query.limit)))
        return rows, total
    matched: list[NgsiEntity] = []
    seen = 0
    wanted = query.offset + query.limit
    for row in session.scalars(statement.execution_options(yield_per=500)):
        if not matches(row, query, active, load):
            continue
        if query.offset <= seen < wanted:
            matched.append(row)
        seen += 1
        if seen >= wanted and not query.count:
            break
    return matched, (seen if query.count else None)


def linked_loader(session: Session, *, tenant: str) -> LinkedLoader:
    """Reads entities for linked-entity subqueries in ``q`` (4.9), each at most once."""
    found: dict[str, tuple[list[str], dict[str, Any]] | None] = {}

    def load(entity_id: str) -> tuple[list[str], dict[str, Any]] | None:
        if entity_id not in found:
            row = session.scalar(
                select(NgsiEntity).where(
                    NgsiEntity.tenant == tenant, NgsiEntity.entity_id == entity_id
                )
            )
            found[entity_id] = (row.types or [row.type], row.attrs or {}) if row else None
        return found[entity_id]

    return load


def expand_values(node: Node, names: set[str], expand: Callable[[str], str]) -> Node:
    """``node`` with the values compared to the attributes in ``names`` expanded as terms
    under the @context (4.9, ``expandValues``), as vocab values are stored expanded."""
    if isinstance(node, And | Or):
        return type(node)(tuple(expand_values(term, names, expand) for term in node.terms))
    if not isinstance(node, Compare) or node.path.attribute not in names:
        return node
    value = node.value
    if isinstance(value, str):
        value = expand(value)
    elif isinstance(value, tuple):
        value = tuple(expand(item) if isinstance(item, str) else item for item in value)
    return replace(node, value=value)


def matches(
    row: NgsiEntity,
    query: EntityQuery,
    active: ActiveContext,
    load: LinkedLoader | None = None,
) -> bool:
    """Whether a candidate row passes the parts of the query SQL could not check."""
    if query.id_pattern is not None and not query.id_pattern.search(row.entity_id):
        return False
    if query.type_groups:
        types = set(row.types or [row.type])
        if not any(types.issuperset(group) for group in query.type_groups):
            return False
    if query.selectors and not any(s.matches(row) for s in query.selectors):
        return False
    if query.scope_q is not None and not evaluate_scope_q(query.scope_q, row.scope):
        return False
    attrs = row.attrs or {}
    if query.attrs and not any(iri in attrs for iri in query.attrs):
        return False
    if query.geo is not None:
        geo = query.geo
        point_like = (
            query.geoproperty == LOCATION
            and geo.relation == "near"
            and isinstance(geo.geometry, Point)
            and row.min_lat is not None
            and row.min_lat == row.max_lat
            and row.min_lon == row.max_lon
        )
        if point_like:
            # A point location: distance straight from the indexed columns, no shapely.
            origin = geo.geometry
            distance = haversine(origin.x, origin.y, float(row.min_lon), float(row.min_lat))  # type: ignore[arg-type]
            if geo.max_distance is not None and distance > geo.max_distance:
                return False
            if geo.min_distance is not None and distance < geo.min_distance:
                return False
        elif not evaluate_georel(geo, attrs, query.geoproperty):
            return False
    return query.q is None or evaluate_q(query.q, attrs, active.expand, load)


def _types_and_attributes(session: Session, tenant: str) -> Iterable[Any]:
    """(type, attrs) of every entity in the tenant, streamed."""
    statement = select(NgsiEntity.type, NgsiEntity.attrs).where(NgsiEntity.tenant == tenant)
    return session.execute(statement.execution_options(yield_per=1000))


def _kinds(attribute: Any) -> set[str]:
    """The attribute types (Property, Relationship, ...) of an attribute's instances."""
    instances = attribute if isinstance(attribute, list) else [attribute]
    return {i.get("type", "Property") for i in instances if isinstance(i, dict)}


def list_types(session: Session, *, tenant: str) -> list[str]:
    """The expanded types the tenant's entities have, sorted."""
    require_tenant(session, tenant=tenant)
    return list(
        session.scalars(
            select(NgsiEntity.type)
            .where(NgsiEntity.tenant == tenant)
            .distinct()
            .order_by(NgsiEntity.type)
        )
    )


def type_details(session: Session, *, tenant: str) -> dict[str, dict[str, Any]]:
    """Per expanded type: entity count and {attribute IRI: set of attribute types}."""
    require_tenant(session, tenant=tenant)
    details: dict[str, dict[str, Any]] = {}
    for type_iri, attrs in _types_and_attributes(session, tenant):
        entry = details.setdefault(type_iri, {"count": 0, "attributes": {}})
        entry["count"] += 1
        for iri, attribute in (attrs or {}).items():
            entry["attributes"].setdefault(iri, set()).update(_kinds(attribute))
    return details


def attribute_details(session: Session, *, tenant: str) -> dict[str, dict[str, Any]]:
    """Per expanded attribute: how many entities have it, its types, and the entity types."""
    require_tenant(session, tenant=tenant)
    details: dict[str, dict[str, Any]] = {}
    for type_iri, attrs in _types_and_attributes(session, tenant):
        for iri, attribute in (attrs or {}).items():
            entry = details.setdefault(iri, {"count": 0, "kinds": set(), "types": set()})
            entry["count"] += 1
            entry["types"].add(type_iri)
            entry["kinds"].update(_kinds(attribute))
    return details
