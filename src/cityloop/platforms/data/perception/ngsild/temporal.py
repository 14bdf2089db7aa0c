"""Temporal reads (/temporal/entities, clauses 5.7.3-5.7.4) from the history store.

Each attribute's series is capped at a server page size; when a series is cut, the answer
is 206 with a Content-Range naming the time span returned, so a client continues from there.
An answer is normalized (every instance), simplified (``temporalValues``) or aggregated
(``aggregatedValues``, computed in SQL by :mod:`.temporal_aggregation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import is_uri, iso, parse_time
from cityloop.platforms.data.perception.ngsild.errors import bad_data, invalid, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery, query_entities
from cityloop.platforms.data.perception.ngsild.rows import find
from cityloop.platforms.data.perception.ngsild.temporal_aggregation import (
    Aggregation,
    aggregate_series,
    parse_aggregation,
)
from cityloop.platforms.data.perception.ngsild.temporal_buckets import Series
from cityloop.platforms.data.perception.ngsild.temporal_store import (
    SIMPLIFIED_MEMBER,
    attribute_names,
    moment_of,
    render_instance,
    simple_value,
)
from cityloop.platforms.data.perception.ngsild.tenants import require_tenant

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
        raise invalid(f"options/format: {unknown[0]!r} is not one of {', '.join(sorted(OPTIONS))}")
    datasets = []
    for part in (dataset_id or "").split(","):
        part = part.strip()
        if part and part != NO_DATASET and not is_uri(part):
            raise bad_data(f"datasetId {part[:60]!r} is not a URI")
        if part:
            datasets.append("" if part == NO_DATASET else part)
    if timerel is not None and timerel not in ("before", "after", "between"):
        raise bad_data("timerel must be before, after or between")
    if timerel is not None and not time_at:
        raise bad_data("timerel needs timeAt")
    if timerel is None and time_at:
        raise bad_data("timeAt needs timerel")
    if timerel == "between" and not end_time_at:
        raise bad_data("timerel=between needs endTimeAt")
    for name, value in (("timeAt", time_at), ("endTimeAt", end_time_at)):
        # A DateTime, not a date: "2020-08-01" names no instant.
        if value and "T" not in value.upper():
            raise bad_data(f"{name} must be a date-time (with a time and a zone), not a date")
    start = parse_time(time_at, "timeAt") if time_at else None
    end = parse_time(end_time_at, "endTimeAt") if end_time_at and timerel == "between" else None
    if start is not None and end is not None and end <= start:
        raise bad_data("endTimeAt must be after timeAt")
    n = None
    if last_n is not None:
        text = str(last_n) if isinstance(last_n, int) and not isinstance(last_n, bool) else last_n
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,7}", text):
            raise bad_data("lastN must be a positive whole number")
        if not 0 < int(text) <= 1_000_000:
            raise bad_data("lastN must be a positive whole number")
        n = int(text)
    if timeproperty is not None and timeproperty not in TIME_PROPERTIES:
        raise bad_data(f"timeproperty must be one of {', '.join(TIME_PROPERTIES)}")
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
    entity: dict[str, Any]
    truncated: bool = False
    first: datetime | None = None
    last: datetime | None = None
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)


def time_column(timeproperty: str) -> Any:
    """The column a time property reads (device readings have only observedAt)."""
    if timeproperty == "createdAt":
        return func.coalesce(Measurement.created_at, Measurement.observed_at)
    if timeproperty == "modifiedAt":
        return func.coalesce(Measurement.modified_at, Measurement.observed_at)
    if timeproperty == "deletedAt":
        return Measurement.deleted_at
    return Measurement.observed_at


def _where(tenant: str, entity_id: str, name: str, query: TimeQuery) -> list[Any]:
    column = time_column(query.timeproperty)
    where = [
        Measurement.tenant == tenant,
        Measurement.entity_id == entity_id,
        Measurement.attribute == name,
    ]
    if query.timeproperty == "deletedAt":
        where.append(Measurement.deleted_at.is_not(None))
    if query.dataset_ids:
        where.append(Measurement.dataset_id.in_(query.dataset_ids))
    if query.timerel == "before":
        where.append(column < query.time_at)
    elif query.timerel == "after":
        # Strictly after: a client paging on with timeAt=<last instance> gets the next ones.
        where.append(column > query.time_at)
    elif query.timerel == "between":
        where.extend([column >= query.time_at, column < query.end_time_at])
    return where


def _series(
    session: Session, where: list[Any], query: TimeQuery, page: int
) -> tuple[list[Measurement], bool]:
    column = time_column(query.timeproperty)
    statement = select(Measurement).where(*where)
    if query.last_n is not None:
        take = min(query.last_n, page)
        rows = list(session.scalars(statement.order_by(column.desc()).limit(take + 1)))
        cut = len(rows) > take and take < query.last_n
        return list(reversed(rows[:take])), cut
    rows = list(session.scalars(statement.order_by(column).limit(page + 1)))
    return rows[:page], len(rows) > page


def _one_or_many(items: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    return items[0] if len(items) == 1 else items


def _simplified(rows: list[Measurement], timeproperty: str) -> Any:
    """The ``temporalValues`` form: per datasetId, the type and ``[content, time]`` pairs."""
    groups: dict[str, list[Measurement]] = {}
    for row in rows:
        groups.setdefault(row.dataset_id, []).append(row)
    out = []
    for dataset, members in groups.items():
        kind = members[0].kind or "Property"
        item: dict[str, Any] = {
            "type": kind,
            SIMPLIFIED_MEMBER.get(kind, "values"): [
                [simple_value(r), iso(moment_of(r, timeproperty))] for r in members
            ],
        }
        if dataset:  # "" is the default instance
            item["datasetId"] = dataset
        out.append(item)
    return _one_or_many(out)


def _aggregated(
    session: Session, where: list[Any], query: TimeQuery, kind: str, series: Series
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


def temporal_entity(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    query: TimeQuery,
    active: ActiveContext,
    page: int = 1000,
    row: NgsiEntity | None = None,
) -> TemporalResult:
    """The history of one entity's attributes under a temporal query (one page). Retrieved
    alone (no ``row`` given), an entity without any of the attributes asked for is a 404."""
    require_tenant(session, tenant=tenant)
    alone = row is None
    row = row or find(session, tenant=tenant, entity_id=entity_id)
    core = contexts.core()
    known = attribute_names(session, tenant=tenant, entity_id=entity_id)
    if row is None and not known:
        raise not_found(f"entity {entity_id} has no history")
    names = [core.compact(iri) for iri in query.attrs] if query.attrs else known
    out: dict[str, Any] = {"id": entity_id}
    if row is not None:
        compacted = [active.compact(t) for t in (row.types or [row.type])]
        out["type"] = compacted[0] if len(compacted) == 1 else compacted
        if row.scope:
            out["scope"] = row.scope if len(row.scope) > 1 else row.scope[0]
        if query.sys_attrs:
            out["createdAt"], out["modifiedAt"] = iso(row.created_at), iso(row.modified_at)
    if alone and query.attrs and not any(core.compact(iri) in known for iri in query.attrs):
        raise not_found(f"entity {entity_id} has no history of the attributes asked for")
    result = TemporalResult(out)
    for name in names:
        where = _where(tenant, entity_id, name, query)
        key = active.compact(core.expand(name))
        if query.aggregation is not None:
            kinds = session.scalars(select(Measurement.kind).where(*where).limit(1))
            kind = next(iter(kinds), None) or "Property"
            series = Series(tenant, entity_id, name, query.dataset_ids)
            aggregated = _aggregated(session, where, query, kind, series)
            if aggregated is not None:
                out[key] = aggregated
            continue
        rows, cut = _series(session, where, query, page)
        if not rows:
            continue
        if cut:
            result.truncated = True
            moments = [moment_of(r, query.timeproperty) for r in rows]
            result.spans.append((moments[0], moments[-1]))
        if query.temporal_values:
            out[key] = _simplified(rows, query.timeproperty)
        else:
            out[key] = [render_instance(r, active, query.sys_attrs) for r in rows]
    return result


def content_range(results: list[TemporalResult]) -> str | None:
    """``date-time <start>-<end>/*`` over the cut series: the span a client has in full."""
    spans = [span for result in results for span in result.spans]
    if not spans:
        return None
    start = min(span[0] for span in spans)
    end = min(span[1] for span in spans)
    return f"date-time {iso(start)}-{iso(end)}/*"


def temporal_query(
    session: Session,
    *,
    tenant: str,
    selection: EntityQuery,
    query: TimeQuery,
    active: ActiveContext,
    page: int,
) -> tuple[list[TemporalResult], int | None]:
    """The history of each entity the selection matches (type, id, idPattern, attrs, q, geo),
    one page of entities, and their count when the selection asks for it."""
    require_tenant(session, tenant=tenant)
    if not (
        selection.types
        or selection.ids
        or selection.id_pattern
        or selection.attrs
        or selection.q
        or selection.geo
    ):
        raise bad_data("a temporal query needs type, id, idPattern, attrs, q or georel")
    rows, total = query_entities(session, tenant=tenant, query=selection, active=active)
    results = []
    for row in rows:
        result = temporal_entity(
            session,
            tenant=tenant,
            entity_id=row.entity_id,
            query=query,
            active=active,
            page=page,
            row=row,
        )
        # An entity without any instance in the range (of the attributes and datasets asked
        # for) has no temporal evolution to show: it is left out.
        if not set(result.entity) - {"id", "type", "scope", "createdAt", "modifiedAt"}:
            continue
        results.append(result)
    return results, total
