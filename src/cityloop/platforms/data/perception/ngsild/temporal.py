"""Temporal reads (/temporal/entities) from the history store (perception's measurements).

Each attribute's series is capped at a server page size; when a series is cut, the answer
is 206 with a Content-Range naming the time span returned, so a client continues from there.
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
from cityloop.platforms.data.perception.ngsild.entities import iso, parse_time
from cityloop.platforms.data.perception.ngsild.errors import bad_data, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.query import ClientPattern
from cityloop.platforms.data.perception.ngsild.reads import id_prefix_filter
from cityloop.platforms.data.perception.ngsild.rows import find
from cityloop.platforms.data.perception.ngsild.tenants import require_tenant


@dataclass(frozen=True)
class TimeQuery:
    timerel: str | None = None
    time_at: datetime | None = None
    end_time_at: datetime | None = None
    last_n: int | None = None
    attrs: tuple[str, ...] = ()  # expanded
    temporal_values: bool = False


def parse_time_query(
    timerel: str | None,
    time_at: str | None,
    end_time_at: str | None,
    last_n: str | None,
    attrs: tuple[str, ...],
    temporal_values: bool,
) -> TimeQuery:
    """A temporal query from its request parameters, checked; 400 BadRequestData otherwise."""
    if timerel is not None and timerel not in ("before", "after", "between"):
        raise bad_data("timerel must be before, after or between")
    if timerel is not None and not time_at:
        raise bad_data("timerel needs timeAt")
    if timerel is None and time_at:
        raise bad_data("timeAt needs timerel")
    if timerel == "between" and not end_time_at:
        raise bad_data("timerel=between needs endTimeAt")
    start = parse_time(time_at, "timeAt") if time_at else None
    end = parse_time(end_time_at, "endTimeAt") if end_time_at and timerel == "between" else None
    if start is not None and end is not None and end <= start:
        raise bad_data("endTimeAt must be after timeAt")
    n = None
    if last_n is not None:
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,7}", last_n) or not 0 < int(last_n) <= 1_000_000:
            raise bad_data("lastN must be a positive whole number")
        n = int(last_n)
    return TimeQuery(timerel, start, end, n, attrs, temporal_values)


@dataclass
class TemporalResult:
    entity: dict[str, Any]
    truncated: bool = False
    first: datetime | None = None
    last: datetime | None = None
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)


def _number(value: float | None, text: str | None) -> Any:
    if value is None:
        return text
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _series(
    session: Session, tenant: str, entity_id: str, name: str, query: TimeQuery, page: int
) -> tuple[list[Measurement], bool]:
    statement = select(Measurement).where(
        Measurement.tenant == tenant,
        Measurement.entity_id == entity_id,
        Measurement.attribute == name,
    )
    if query.timerel == "before":
        statement = statement.where(Measurement.observed_at < query.time_at)
    elif query.timerel == "after":
        # Strictly after: a client paging on with timeAt=<last instance> gets the next ones.
        statement = statement.where(Measurement.observed_at > query.time_at)
    elif query.timerel == "between":
        statement = statement.where(
            Measurement.observed_at >= query.time_at, Measurement.observed_at < query.end_time_at
        )
    if query.last_n is not None:
        take = min(query.last_n, page)
        rows = list(
            session.scalars(statement.order_by(Measurement.observed_at.desc()).limit(take + 1))
        )
        cut = len(rows) > take and take < query.last_n
        return list(reversed(rows[:take])), cut
    rows = list(session.scalars(statement.order_by(Measurement.observed_at).limit(page + 1)))
    return rows[:page], len(rows) > page


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
    """The history of one entity's attributes under a temporal query (one page)."""
    require_tenant(session, tenant=tenant)
    row = row or find(session, tenant=tenant, entity_id=entity_id)
    core = contexts.core()
    if query.attrs:
        names = [core.compact(iri) for iri in query.attrs]
    else:
        names = list(
            session.scalars(
                select(Measurement.attribute)
                .where(Measurement.tenant == tenant, Measurement.entity_id == entity_id)
                .distinct()
                .order_by(Measurement.attribute)
            )
        )
    if row is None and not names:
        raise not_found(f"entity {entity_id} has no history")
    if row is None and not query.attrs:
        pass
    elif row is None:
        exists = session.scalar(
            select(Measurement.id)
            .where(Measurement.tenant == tenant, Measurement.entity_id == entity_id)
            .limit(1)
        )
        if exists is None:
            raise not_found(f"entity {entity_id} has no history")
    types = list(row.types or [row.type]) if row is not None else []
    out: dict[str, Any] = {"id": entity_id}
    if types:
        compacted = [active.compact(t) for t in types]
        out["type"] = compacted[0] if len(compacted) == 1 else compacted
    result = TemporalResult(out)
    for name in names:
        rows, cut = _series(session, tenant, entity_id, name, query, page)
        if not rows:
            continue
        result.truncated = result.truncated or cut
        if cut:
            result.spans.append((rows[0].observed_at, rows[-1].observed_at))
        key = active.compact(core.expand(name))
        if query.temporal_values:
            out[key] = {
                "type": "Property",
                "values": [[_number(r.num_value, r.text_value), iso(r.observed_at)] for r in rows],
            }
        else:
            instances = []
            for r in rows:
                instance: dict[str, Any] = {
                    "type": "Property",
                    "value": _number(r.num_value, r.text_value),
                    "observedAt": iso(r.observed_at),
                }
                if r.unit:
                    instance["unitCode"] = r.unit
                instances.append(instance)
            out[key] = instances
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
    types: list[str],
    ids: list[str],
    query: TimeQuery,
    active: ActiveContext,
    limit: int,
    offset: int,
    page: int,
    id_pattern: ClientPattern | None = None,
) -> list[TemporalResult]:
    """The history of each matching entity (by type, ids, an id pattern, attrs), one page."""
    require_tenant(session, tenant=tenant)
    if not types and not ids and id_pattern is None and not query.attrs:
        raise bad_data("a temporal query needs type, id, idPattern or attrs")
    statement = select(NgsiEntity).where(NgsiEntity.tenant == tenant)
    if types:
        statement = statement.where(NgsiEntity.type.in_(types))
    if ids:
        statement = statement.where(NgsiEntity.entity_id.in_(ids))
    if id_pattern is not None:
        narrowed = id_prefix_filter(id_pattern)
        if narrowed is not None:
            statement = statement.where(narrowed)
        # The pattern runs on ids alone (under the request's time budget); the page is then
        # taken from what it matched, so offset and limit count matching entities.
        matched: list[int] = []
        for row_id, entity_id in session.execute(
            statement.with_only_columns(NgsiEntity.id, NgsiEntity.entity_id).order_by(NgsiEntity.id)
        ):
            if id_pattern.search(entity_id):
                matched.append(row_id)
                if len(matched) >= offset + limit:
                    break
        statement = select(NgsiEntity).where(NgsiEntity.id.in_(matched[offset:]))
        offset = 0
    statement = statement.order_by(NgsiEntity.id).offset(offset).limit(limit)
    results = []
    for row in session.scalars(statement):
        if query.attrs and not any(iri in (row.attrs or {}) for iri in query.attrs):
            continue
        results.append(
            temporal_entity(
                session,
                tenant=tenant,
                entity_id=row.entity_id,
                query=query,
                active=active,
                page=page,
                row=row,
            )
        )
    return results
