"""Temporal reads (/temporal/entities, clauses 5.7.3-5.7.4) from the history store.

Each attribute's series is capped at a server page size; when a series is cut, the answer
is 206 with a Content-Range naming the time span returned (:mod:`.temporal_paging`), so a
client continues from there. An answer is normalized (every instance), simplified
(``temporalValues``) or aggregated (``aggregatedValues``, computed in SQL by
:mod:`.temporal_aggregation`), then projected by ``pick``/``omit`` and ``lang`` as entity
reads are (:mod:`.projection`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import is_uri, iso, parse_time
from cityloop.platforms.data.perception.ngsild.errors import bad_data, invalid, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.projection import (
    CORE_MEMBERS,
    Tree,
    pick_language,
    project,
)
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery
from cityloop.platforms.data.perception.ngsild.rows import find
from cityloop.platforms.data.perception.ngsild.temporal_aggregation import (
    Aggregation,
    aggregate_series,
    parse_aggregation,
)
from cityloop.platforms.data.perception.ngsild.temporal_buckets import Series as RollupSeries
from cityloop.platforms.data.perception.ngsild.temporal_filters import (
    Interval,
    scope_at_start,
    select_entities,
    time_column,
    window_conditions,
)
from cityloop.platforms.data.perception.ngsild.temporal_filters import within as within_bounds
from cityloop.platforms.data.perception.ngsild.temporal_paging import (
    Series,
    newest_first,
    page_range,
    read_backwards,
    read_forwards,
    within,
)
from cityloop.platforms.data.perception.ngsild.temporal_store import (
    SCOPE,
    SIMPLIFIED_MEMBER,
    attribute_names,
    moment_of,
    render_instance,
    simple_value,
)
from cityloop.platforms.data.perception.ngsild.tenants import require_tenant
from cityloop.platforms.data.perception.ngsild.texts import text

TIME_PROPERTIES = ("observedAt", "createdAt", "modifiedAt", "deletedAt")
# The options (and format values) a temporal read understands; any other is a 400.
OPTIONS = frozenset(
    {"temporalValues", "aggregatedValues", "sysAttrs", "normalized", "concise", "simplified"}
)
NO_DATASET = "@none"  # names the default instance in a datasetId filter


@dataclass(frozen=True)
class TimeQuery:
    timerel: str | None = None
    time_at: datetime | None = None
    end_time_at: datetime | None = None
    last_n: int | None = None
    attrs: tuple[str, ...] = ()  # expanded
    temporal_values: bool = False
    timeproperty: str = "observedAt"
    aggregation: Aggregation | None = None
    sys_attrs: bool = False
    dataset_ids: tuple[str, ...] = ()  # "" is the default instance
    pick: Tree | None = None  # compacted names, as projection.read_options gives them
    omit: Tree | None = None
    languages: list[str] | None = None  # lang's ranges, best first


def parse_time_query(
    *,
    timerel: str | None,
    time_at: str | None,
    end_time_at: str | None,
    last_n: Any,
    attrs: tuple[str, ...],
    options: set[str],
    timeproperty: str | None = None,
    aggr_methods: Any = None,
    aggr_period: Any = None,
    dataset_id: str | None = None,
) -> TimeQuery:
    """A temporal query from its request parameters, checked; 400 BadRequestData otherwise."""
    unknown = sorted(options - OPTIONS)
    if unknown:
        raise invalid(
            text("temporal_option_unknown", option=unknown[0], options=", ".join(sorted(OPTIONS)))
        )
    datasets = []
    for part in (dataset_id or "").split(","):
        part = part.strip()
        if part and part != NO_DATASET and not is_uri(part):
            raise bad_data(text("temporal_dataset_not_uri", value=part[:60]))
        if part:
            datasets.append("" if part == NO_DATASET else part)
    if timerel is not None and timerel not in ("before", "after", "between"):
        raise bad_data(text("temporal_timerel_unknown"))
    if timerel is not None and not time_at:
        raise bad_data(text("temporal_timerel_needs_time_at"))
    if timerel is None and time_at:
        raise bad_data(text("temporal_time_at_needs_timerel"))
    if timerel == "between" and not end_time_at:
        raise bad_data(text("temporal_between_needs_end"))
    for name, value in (("timeAt", time_at), ("endTimeAt", end_time_at)):
        # A DateTime, not a date: "2020-08-01" names no instant.
        if value and "T" not in value.upper():
            raise bad_data(text("temporal_date_not_datetime", name=name))
    start = parse_time(time_at, "timeAt") if time_at else None
    end = parse_time(end_time_at, "endTimeAt") if end_time_at and timerel == "between" else None
    if start is not None and end is not None and end <= start:
        raise bad_data(text("temporal_end_not_after_start"))
    n = None
    if last_n is not None:
        given = str(last_n) if isinstance(last_n, int) and not isinstance(last_n, bool) else last_n
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not isinstance(given, str) or not re.fullmatch(r"[0-9]{1,7}", given):
            raise bad_data(text("temporal_last_n"))
        if not 0 < int(given) <= 1_000_000:
            raise bad_data(text("temporal_last_n"))
        n = int(given)
    if timeproperty is not None and timeproperty not in TIME_PROPERTIES:
        raise bad_data(text("temporal_timeproperty_unknown", properties=", ".join(TIME_PROPERTIES)))
    aggregation = None
    if "aggregatedValues" in options:
        aggregation = parse_aggregation(aggr_methods, aggr_period)
    elif aggr_methods is not None or aggr_period is not None:
        # Checked even unused, so a typo is not silently ignored.
        parse_aggregation(aggr_methods or "totalCount", aggr_period)
    return TimeQuery(
        timerel,
        start,
        end,
        n,
        attrs,
        bool(options & {"temporalValues", "simplified"}),
        timeproperty or "observedAt",
        aggregation,
        "sysAttrs" in options,
        tuple(datasets),
    )


@dataclass
class TemporalResult:
    """One entity's answer before paging: its core members and aggregated attributes, and the
    series read for the rest."""

    entity: dict[str, Any]
    series: list[Series] = field(default_factory=list)


@dataclass
class TemporalAnswer:
    """The entities as the client gets them, and the Content-Range when a series was cut."""

    entities: list[dict[str, Any]]
    content_range: str | None = None


def _where(tenant: str, entity_id: str, name: str, query: TimeQuery) -> list[Any]:
    where = [
        Measurement.tenant == tenant,
        Measurement.entity_id == entity_id,
        Measurement.attribute == name,
    ]
    if query.timeproperty == "deletedAt":
        where.append(Measurement.deleted_at.is_not(None))
    if query.dataset_ids:
        where.append(Measurement.dataset_id.in_(query.dataset_ids))
    return where + window_conditions(query)


def _series(
    session: Session, where: list[Any], query: TimeQuery, page: int
) -> tuple[list[Measurement], datetime | None]:
    """One page of a series, oldest first, and the first instant it left out (None when the
    page holds every instance asked for)."""
    column = time_column(query.timeproperty)
    statement = select(Measurement).where(*where)
    prop = query.timeproperty
    if query.last_n is None:
        return read_forwards(session, statement, column, prop, page)
    if query.last_n <= page:
        # lastN's own cut is the complete answer the client asked for, not a page.
        newest = newest_first(statement, column).limit(query.last_n)
        return list(session.scalars(newest))[::-1], None
    return read_backwards(session, statement, column, prop, page)


def _one_or_many(items: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    return items[0] if len(items) == 1 else items


def _simplified(
    rows: list[Measurement], timeproperty: str, kind: str | None, active: ActiveContext
) -> Any:
    """The ``temporalValues`` form: per datasetId, the type and ``[content, time]`` pairs
    (``kind``'s empty list when the page's range left none)."""
    if not rows:
        kind = kind or "Property"
        return {"type": kind, SIMPLIFIED_MEMBER.get(kind, "values"): []}
    groups: dict[str, list[Measurement]] = {}
    for row in rows:
        groups.setdefault(row.dataset_id, []).append(row)
    out = []
    for dataset, members in groups.items():
        kind = members[0].kind or "Property"
        item: dict[str, Any] = {
            "type": kind,
            SIMPLIFIED_MEMBER.get(kind, "values"): [
                [simple_value(r, active), iso(moment_of(r, timeproperty))] for r in members
            ],
        }
        if dataset:  # "" is the default instance
            item["datasetId"] = dataset
        out.append(item)
    return _one_or_many(out)


def _aggregated(
    session: Session, where: list[Any], query: TimeQuery, kind: str, series: RollupSeries | None
) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The ``aggregatedValues`` form: per datasetId, each method's per-period results."""
    assert query.aggregation is not None
    end = query.end_time_at if query.timerel == "between" else None
    if query.timerel == "before":
        end = query.time_at
    series = aggregate_series(
        session,
        where=where,
        time_column=time_column(query.timeproperty),
        end=end,
        aggregation=query.aggregation,
        # The rollups are by observedAt: a query by another time reads the instances.
        series=series if query.timeproperty == "observedAt" else None,
    )
    out = []
    for dataset, methods in series.items():
        if query.last_n is not None:
            methods = {m: values[-query.last_n :] for m, values in methods.items()}
        item: dict[str, Any] = {"type": kind, **methods}
        if dataset:  # "" is the default instance
            item["datasetId"] = dataset
        out.append(item)
    return _one_or_many(out) if out else None


def _entity_history(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    query: TimeQuery,
    active: ActiveContext,
    page: int,
    row: NgsiEntity | None = None,
    bounds: list[Interval] | None = None,
) -> TemporalResult:
    """One entity's series under a temporal query (one page of each), within ``bounds`` when
    given. Retrieved alone (no ``row`` given), an entity without any of the attributes asked for
    is a 404."""
    require_tenant(session, tenant=tenant)
    alone = row is None
    row = row or find(session, tenant=tenant, entity_id=entity_id)
    core = contexts.core()
    known = attribute_names(session, tenant=tenant, entity_id=entity_id)
    if row is None and not known:
        raise not_found(text("temporal_no_history", entity=entity_id))
    names = [core.compact(iri) for iri in query.attrs] if query.attrs else known
    # The scope's own series (clause 4.5.6) is shown whatever attrs asks for, never aggregated.
    names = [n for n in names if n != SCOPE]
    if SCOPE in known and query.aggregation is None:
        names.append(SCOPE)
    out: dict[str, Any] = {"id": entity_id}
    if row is not None:
        compacted = [active.compact(t) for t in (row.types or [row.type])]
        out["type"] = compacted[0] if len(compacted) == 1 else compacted
        if row.scope:
            out["scope"] = row.scope if len(row.scope) > 1 else row.scope[0]
        if query.sys_attrs:
            out["createdAt"], out["modifiedAt"] = iso(row.created_at), iso(row.modified_at)
    if alone and query.attrs and not any(core.compact(iri) in known for iri in query.attrs):
        raise not_found(text("temporal_no_history_of_attributes", entity=entity_id))
    result = TemporalResult(out)
    for name in names:
        where = _where(tenant, entity_id, name, query)
        if bounds is not None and name != SCOPE:
            where.append(within_bounds(bounds, query.timeproperty))
        key = active.compact(core.expand(name))
        if not _projected(key, query):
            # Not read at all, so it neither shows nor cuts the page; whether the entity has
            # any history in the range is still asked (a pick of id alone keeps it).
            if not result.series and session.scalar(select(Measurement.id).where(*where).limit(1)):
                result.series.append(Series(key, [], cut=False))
            continue
        if query.aggregation is not None:
            kinds = session.scalars(select(Measurement.kind).where(*where).limit(1))
            kind = next(iter(kinds), None) or "Property"
            # Scope bounds (scopeQ) cut the instances inside a bucket: they read the instances.
            series = (
                None
                if bounds is not None
                else RollupSeries(tenant, entity_id, name, query.dataset_ids)
            )
            aggregated = _aggregated(session, where, query, kind, series)
            if aggregated is not None:
                out[key] = aggregated
            continue
        rows, next_at = _series(session, where, query, page)
        if name == SCOPE:
            start = scope_at_start(session, tenant=tenant, entity_id=entity_id, query=query)
            rows = [start, *rows] if start is not None else rows
        if rows:
            result.series.append(Series(key, rows, next_at is not None, next_at))
    return result


def _projected(key: str, query: TimeQuery) -> bool:
    """Whether pick and omit leave an attribute in the answer."""
    if query.pick is not None and key not in query.pick:
        return False
    return not (query.omit and key in query.omit and not query.omit[key])


def _answer(
    results: list[TemporalResult], query: TimeQuery, active: ActiveContext
) -> TemporalAnswer:
    """The page: series cut to the range every one holds in full, rendered and projected."""
    window = page_range([s for r in results for s in r.series], query)
    entities = []
    for result in results:
        entity = dict(result.entity)
        for series in result.series:
            if not _projected(series.key, query):
                continue
            rows = within(series, window, query.timeproperty)
            if query.temporal_values:
                entity[series.key] = _simplified(
                    rows, query.timeproperty, series.rows[0].kind, active
                )
            else:
                instances = [render_instance(r, active, query.sys_attrs) for r in rows]
                if query.languages is not None:
                    instances = [pick_language(i, query.languages) for i in instances]
                entity[series.key] = instances
        entities.append(project(entity, query.pick, query.omit))
    return TemporalAnswer(entities, window.header() if window else None)


def temporal_entity(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    query: TimeQuery,
    active: ActiveContext,
    page: int = 1000,
) -> TemporalAnswer:
    """The history of one entity's attributes under a temporal query (one page); an entity
    without any of the attributes asked for, or that pick and omit leave empty, is a 404."""
    result = _entity_history(
        session, tenant=tenant, entity_id=entity_id, query=query, active=active, page=page
    )
    answer = _answer([result], query, active)
    if not answer.entities[0]:
        raise not_found(text("temporal_nothing_left", entity=entity_id))
    return answer


def temporal_query(
    session: Session,
    *,
    tenant: str,
    selection: EntityQuery,
    query: TimeQuery,
    active: ActiveContext,
    page: int,
    wide: bool = False,
) -> tuple[TemporalAnswer, int | None]:
    """The history of each entity the selection matches (type, id, idPattern, attrs; q, geo
    and scopeQ on the instances within the time range), one page of entities, and their count
    when the selection asks for it; ``wide`` (local=true or type=*) selects every entity."""
    require_tenant(session, tenant=tenant)
    if not selection.selects() and not wide:
        # 5.7.4.4, as entity queries (5.7.2.4): ids and idPattern only narrow a selection.
        raise bad_data(text("temporal_query_too_wide"))
    rows, total, bounds = select_entities(
        session, tenant=tenant, selection=selection, query=query, active=active
    )
    results = []
    for row in rows:
        result = _entity_history(
            session,
            tenant=tenant,
            entity_id=row.entity_id,
            query=query,
            active=active,
            page=page,
            row=row,
            bounds=bounds.get(row.entity_id),
        )
        # An entity without any instance in the range (of the attributes and datasets asked
        # for) has no temporal evolution to show: it is left out.
        if not result.series and not set(result.entity) - CORE_MEMBERS:
            continue
        results.append(result)
    answer = _answer(results, query, active)
    # 4.21: an entity that pick or omit leaves empty is not part of the answer.
    answer.entities = [entity for entity in answer.entities if entity]
    return answer, total
