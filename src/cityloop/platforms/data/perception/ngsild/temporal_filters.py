"""Temporal query filters (clause 5.7.4.4): ``q``, the geo-query and ``scopeQ`` judged on the
history within the time range, not on the entity's current state.

S2/S3: an entity is selected when some of its attribute instances within the range satisfy
each query term (one instance at a time), or some GeoProperty instance within the range meets
the geo-query. S4: a scope is valid from the time it was set until it was replaced or removed
(clause 4.18); an entity is selected when a matching scope was valid within the range, and only
its instances from those stretches of time are shown (annex C.5.16). SQL reads the windowed
instances, many entities per statement (a q comparing a value with a number keeps only the
rows that could match); the q language and exact geometry then run in Python, as they do for
current-state queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import iso
from cityloop.platforms.data.perception.ngsild.geo import GeoQuery, evaluate_georel
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.query import (
    And,
    Compare,
    Exists,
    Node,
    Or,
    attribute_names,
    evaluate_q,
)
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery, query_entities
from cityloop.platforms.data.perception.ngsild.scopes import ScopeNode, evaluate_scope_q
from cityloop.platforms.data.perception.ngsild.temporal_store import SCOPE, history_name

if TYPE_CHECKING:
    from cityloop.platforms.data.perception.ngsild.temporal import TimeQuery

# A stretch of time [start, end); None is unbounded on that side.
Interval = tuple[datetime | None, datetime | None]
_BATCH = 500  # entities whose instances one statement reads
_EVERY = 1_000_000_000  # "no limit" for the candidate read; the page is cut after filtering


def time_column(timeproperty: str) -> Any:
    """The column a time property reads (device readings have only observedAt)."""
    if timeproperty == "createdAt":
        return func.coalesce(Measurement.created_at, Measurement.observed_at)
    if timeproperty == "modifiedAt":
        return func.coalesce(Measurement.modified_at, Measurement.observed_at)
    if timeproperty == "deletedAt":
        return Measurement.deleted_at
    return Measurement.observed_at


def window_conditions(query: TimeQuery) -> list[Any]:
    """The SQL conditions of the query's time range (timerel, timeAt, endTimeAt)."""
    column = time_column(query.timeproperty)
    if query.timerel == "before":
        return [column < query.time_at]
    if query.timerel == "after":
        # 4.11: from timeAt on, timeAt included (a page's end is the first instant it left out).
        return [column >= query.time_at]
    if query.timerel == "between":
        return [column >= query.time_at, column < query.end_time_at]
    return []


def window(query: TimeQuery) -> Interval:
    """The query's time range as an interval."""
    if query.timerel == "before":
        return None, query.time_at
    if query.timerel == "after":
        return query.time_at, None
    if query.timerel == "between":
        return query.time_at, query.end_time_at
    return None, None


def within(intervals: list[Interval], timeproperty: str) -> Any:
    """The SQL condition: the instance's time falls in one of ``intervals``."""
    column = time_column(timeproperty)
    parts = []
    for start, end in intervals:
        bounds = [column >= start] if start is not None else []
        bounds += [column < end] if end is not None else []
        parts.append(and_(*bounds) if bounds else column.is_not(None))
    return or_(*parts)


def _clip(interval: Interval, span: Interval) -> Interval | None:
    """The part of ``interval`` inside ``span``, or None when they do not meet."""
    starts = [t for t in (interval[0], span[0]) if t is not None]
    ends = [t for t in (interval[1], span[1]) if t is not None]
    start = max(starts) if starts else None
    end = min(ends) if ends else None
    if start is not None and end is not None and start >= end:
        return None
    return start, end


def _scopes(value: Any) -> list[str]:
    return [s for s in (value if isinstance(value, list) else [value]) if isinstance(s, str)]


def scope_intervals(
    history: list[Any], current: list[str] | None, node: ScopeNode, span: Interval
) -> list[Interval]:
    """Where within ``span`` a scope matching ``node`` was valid (clauses 4.18, 4.19): each
    scope instance holds from its time until the next one (a removal is an empty scope). An
    entity without a scope history has had its current scope all along."""
    if not history:
        stretches: list[tuple[Interval, list[str]]] = [((None, None), current or [])]
    else:
        times = [r.observed_at for r in history]
        stretches = [
            ((times[i], times[i + 1] if i + 1 < len(times) else None), _scopes(_value(r)))
            for i, r in enumerate(history)
        ]
    found = []
    for interval, scopes in stretches:
        clipped = _clip(interval, span)
        if clipped is not None and scopes and evaluate_scope_q(node, scopes):
            found.append(clipped)
    return found


def _value(row: Any) -> Any:
    if row.deleted_at is not None:
        return []
    return (row.document or {}).get("value", row.text_value)


def stored_instance(row: Any) -> dict[str, Any]:
    """A history row (its ``_COLUMNS``) as an expanded attribute instance, for the q language
    and geometry."""
    if row.document is not None:
        return row.document
    value: Any = row.text_value
    if row.num_value is not None:
        value = row.num_value
    return {"type": "Property", "value": value, "observedAt": iso(row.observed_at)}


# The columns a filter reads: plain rows, not ORM objects, as thousands may be read per query.
_COLUMNS = (
    Measurement.entity_id,
    Measurement.attribute,
    Measurement.observed_at,
    Measurement.num_value,
    Measurement.text_value,
    Measurement.document,
    Measurement.deleted_at,
)


_ORDERING = {">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__", "==": "__eq__"}


def numeric_prefilter(node: Node | None, expand: Callable[[str], str]) -> Any | None:
    """For a q that is one comparison of an attribute's value with a number, the SQL condition
    that keeps every row that could match: those whose number satisfies it, and those without
    a number (structured values, arrays), which the q language then judges. None otherwise."""
    if not isinstance(node, Compare) or node.path.members or node.path.json_path:
        return None
    literal = node.value
    if node.op not in _ORDERING or isinstance(literal, bool):
        return None
    if not isinstance(literal, int | float) or not abs(literal) < 2**53:
        return None
    name = history_name(expand(node.path.attribute))
    number = Measurement.num_value
    kept = or_(getattr(number, _ORDERING[node.op])(literal), number.is_(None))
    # Rows of other attributes (the geo-query's) are kept whole.
    return or_(Measurement.attribute != name, kept)


def _instances_by_entity(
    session: Session,
    *,
    tenant: str,
    ids: list[str],
    names: Iterable[str],
    query: TimeQuery,
    prefilter: Any | None = None,
) -> dict[str, dict[str, list[Any]]]:
    """Per entity and history name, the live instances within the query's time range (of the
    q attribute, only those ``prefilter`` keeps)."""
    statement = (
        select(*_COLUMNS)
        .where(
            Measurement.tenant == tenant,
            Measurement.entity_id.in_(ids),
            Measurement.attribute.in_(sorted(set(names))),
            Measurement.deleted_at.is_(None),
            *window_conditions(query),
        )
        .order_by(Measurement.entity_id, Measurement.attribute, Measurement.observed_at)
    )
    if prefilter is not None:
        statement = statement.where(prefilter)
    found: dict[str, dict[str, list[Any]]] = {}
    for row in session.execute(statement):
        found.setdefault(row.entity_id, {}).setdefault(row.attribute, []).append(row)
    return found


def _scope_history(session: Session, *, tenant: str, ids: list[str]) -> dict[str, list[Any]]:
    """Per entity, its scope instances in time order."""
    statement = (
        select(*_COLUMNS)
        .where(
            Measurement.tenant == tenant,
            Measurement.entity_id.in_(ids),
            Measurement.attribute == SCOPE,
        )
        .order_by(Measurement.entity_id, Measurement.observed_at)
    )
    found: dict[str, list[Any]] = {}
    for row in session.execute(statement):
        found.setdefault(row.entity_id, []).append(row)
    return found


def q_holds(
    node: Node, instances: dict[str, list[dict[str, Any]]], expand: Callable[[str], str]
) -> bool:
    """Does some instance (of those given, by expanded name) satisfy each term of ``node``?"""
    if isinstance(node, And):
        return all(q_holds(term, instances, expand) for term in node.terms)
    if isinstance(node, Or):
        return any(q_holds(term, instances, expand) for term in node.terms)
    candidates = instances.get(expand(node.path.attribute), [])
    if isinstance(node, Exists) and node.negated:
        return not candidates
    # One instance at a time: "speed>25" holds when some instance within the range is above 25.
    return any(evaluate_q(node, {expand(node.path.attribute): one}, expand) for one in candidates)


def geo_holds(geo: GeoQuery, instances: list[dict[str, Any]], iri: str) -> bool:
    """Does some GeoProperty instance within the range meet the geo-query?"""
    return any(evaluate_georel(geo, {iri: one}, iri) for one in instances)


def select_entities(
    session: Session,
    *,
    tenant: str,
    selection: EntityQuery,
    query: TimeQuery,
    active: ActiveContext,
) -> tuple[list[NgsiEntity], int | None, dict[str, list[Interval]]]:
    """One page of the entities a temporal query selects, their count when asked, and per
    entity the stretches of time a matching scope was valid (to bound its instances)."""
    if selection.q is None and selection.geo is None and selection.scope_q is None:
        rows, total = query_entities(session, tenant=tenant, query=selection, active=active)
        return rows, total, {}
    # Type, ids and attrs narrow the candidates as for any query; the rest is judged on history.
    loose = replace(selection, q=None, geo=None, scope_q=None, offset=0, limit=_EVERY, count=False)
    candidates, _ = query_entities(session, tenant=tenant, query=loose, active=active)
    names: dict[str, str] = {}  # history name -> expanded name
    if selection.q is not None:
        for name in attribute_names(selection.q):
            iri = active.expand(name)
            names[history_name(iri)] = iri
    if selection.geo is not None:
        names[history_name(selection.geoproperty)] = selection.geoproperty
    span = window(query)
    prefilter = numeric_prefilter(selection.q, active.expand)
    matched: list[NgsiEntity] = []
    bounds: dict[str, list[Interval]] = {}
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        ids = [row.entity_id for row in batch]
        history = (
            _instances_by_entity(
                session, tenant=tenant, ids=ids, names=names, query=query, prefilter=prefilter
            )
            if names
            else {}
        )
        scopes = _scope_history(session, tenant=tenant, ids=ids) if selection.scope_q else {}
        for row in batch:
            if selection.scope_q is not None:
                valid = scope_intervals(
                    scopes.get(row.entity_id, []), row.scope, selection.scope_q, span
                )
                if not valid:
                    continue
                bounds[row.entity_id] = valid
            series = {
                names[name]: [stored_instance(r) for r in rows]
                for name, rows in history.get(row.entity_id, {}).items()
            }
            if selection.q is not None and not q_holds(selection.q, series, active.expand):
                continue
            if selection.geo is not None and not geo_holds(
                selection.geo, series.get(selection.geoproperty, []), selection.geoproperty
            ):
                continue
            matched.append(row)
    total = len(matched) if selection.count else None
    return matched[selection.offset : selection.offset + selection.limit], total, bounds


def scope_at_start(
    session: Session, *, tenant: str, entity_id: str, query: TimeQuery
) -> Measurement | None:
    """The scope instance still valid when the time range starts, set before it (annex
    C.5.16: the scope in force is shown with the entity)."""
    start = window(query)[0]
    if start is None or query.timeproperty != "observedAt":
        return None
    # An instance at timeAt itself is shown by the range ("after" and "between" include it).
    before = Measurement.observed_at < start
    return session.scalar(
        select(Measurement)
        .where(
            Measurement.tenant == tenant,
            Measurement.entity_id == entity_id,
            Measurement.attribute == SCOPE,
            before,
        )
        .order_by(Measurement.observed_at.desc())
        .limit(1)
    )
