"""The operations centre's questions, as plain service functions: KPIs for a cut (with the
previous period beside them), the case list at the bottom of a drill-down, and trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.domains.operations import kpis, service_figures
from cityloop.domains.operations.cuts import (
    DRILL_DOWN,
    Cut,
    Period,
    dimension,
    scoped,
)
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import CaseFactRow
from cityloop.platforms.application.identity.service import Actor

Bucket = Literal["day", "week", "month"]
# At most this many points in one trend: a day trend covers two months, a month trend five years.
MAX_POINTS = 62
MAX_CASES = 500
CASE_LIST_FIGURES = ("registered", "due", "closed", "overdue", "resolved")


def next_level(by: str | None, filters: dict[str, str]) -> str | None:
    """The dimension one step deeper in city → district → street → grid, or None at the bottom."""
    for level in DRILL_DOWN:
        if level not in filters and level != by:
            return level
        if level == by:
            index = DRILL_DOWN.index(level)
            return DRILL_DOWN[index + 1] if index + 1 < len(DRILL_DOWN) else None
    return None


def kpi_report(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    by: str | None,
    filters: dict[str, str | None],
    compare: bool,
) -> dict[str, Any]:
    """KPIs of one cut as ``actor`` may see it, each group with the previous period beside it."""
    cut = Cut(period, dimension(by), scoped(actor, filters))
    current = with_services(session, kpis.figures(session, cut=cut), cut=cut)
    previous: dict[str, dict[str, Any]] = {}
    if compare:
        earlier = Cut(period.previous(), cut.by, cut.filters)
        previous = with_services(session, kpis.figures(session, cut=earlier), cut=earlier)

    def row(key: str) -> dict[str, Any]:
        before = previous.get(key) if compare else None
        if compare and before is None:
            before = {**kpis.Tally().figures(), **_services_of(cut, key, {})}
        change = None
        if before is not None:
            change = {
                **kpis.delta(current[key], before),
                **service_figures.delta(current[key], before),
            }
        return {"key": key, "figures": current[key], "previous": before, "delta": change}

    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "previous_start": period.previous().start.isoformat() if compare else None,
        "previous_end": period.previous().end.isoformat() if compare else None,
        "by": cut.by,
        "filters": cut.filters,
        "next_by": next_level(cut.by, cut.filters),
        "services_city_wide": not service_figures.applies(cut.filters),
        "city": row(kpis.CITY),
        "groups": [row(key) for key in current if key != kpis.CITY],
    }


def _services_of(cut: Cut, key: str, found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # The city row and, in a cut by department, each department carry the services figures;
    # a group of a dimension applications do not have (a district, a category) carries None.
    if key == kpis.CITY or cut.by == "department":
        return found.get(key) or service_figures.empty()
    return dict.fromkeys(service_figures.FIGURES)


def with_services(
    session: Session, figures: dict[str, dict[str, Any]], *, cut: Cut
) -> dict[str, dict[str, Any]]:
    """The case figures of ``cut`` with the services domain's figures beside them."""
    found = service_figures.figures(
        session, period=cut.period, by=cut.by, filters=dict(cut.filters)
    )
    if cut.by == "department":  # a department with applications and no case is shown too
        groups = {key: kpis.Tally().figures() for key in found if key != kpis.CITY}
        groups.update({key: value for key, value in figures.items() if key != kpis.CITY})
        figures = {kpis.CITY: figures[kpis.CITY], **dict(sorted(groups.items()))}
    return {key: {**values, **_services_of(cut, key, found)} for key, values in figures.items()}


def department_report(
    session: Session, *, actor: Actor, period: Period, department: str | None
) -> dict[str, Any]:
    """The console's first KPI screen: the city and each department (``/api/v1/kpis``)."""
    cut = Cut(period, "department", scoped(actor, {"department": department}))
    found = with_services(session, kpis.figures(session, cut=cut), cut=cut)
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "services_city_wide": not service_figures.applies(cut.filters),
        "city": found[kpis.CITY],
        "departments": {k: v for k, v in found.items() if k != kpis.CITY},
    }


def case_list(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    figure: str,
    filters: dict[str, str | None],
) -> list[dict[str, Any]]:
    """The bottom of a drill-down: the cases behind one figure of one cut, newest first."""
    if figure not in CASE_LIST_FIGURES:
        raise bad_request(
            Message("operations.figure_choices", {"figures": ", ".join(CASE_LIST_FIGURES)}),
            field="figure",
        )
    chosen = scoped(actor, filters)
    f, p = CaseFactRow, period

    def within(column: Any) -> Any:
        return and_(column >= p.start, column < p.end)

    closed_by_end = and_(f.status == "closed", f.closed_at < p.end)
    condition = {
        "registered": within(f.registered_at),
        "due": within(f.resolution_due),
        "closed": and_(within(f.resolution_due), closed_by_end),
        "overdue": and_(within(f.resolution_due), ~closed_by_end, f.status.not_in(kpis.ENDED)),
        "resolved": within(f.resolved_at),
    }[figure]
    query = (
        select(f)
        .where(condition, *[getattr(f, k) == v for k, v in chosen.items()])
        .order_by(f.case_id.desc())
        .limit(MAX_CASES)
    )
    return [
        {
            "case_id": row.case_id,
            "status": row.status,
            "category": row.category,
            "priority": row.priority,
            "channel": row.channel,
            "department": row.department,
            "district": row.district,
            "street": row.street,
            "grid": row.grid,
            "created_at": row.created_at.isoformat(),
            "resolution_due": row.resolution_due.isoformat() if row.resolution_due else None,
            "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            "on_time": row.on_time,
        }
        for row in session.scalars(query)
    ]


def buckets(period: Period, bucket: Bucket) -> list[Period]:
    """The period cut into UTC days, ISO weeks (from Monday) or calendar months."""
    start = period.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "week":
        start -= timedelta(days=start.weekday())
    elif bucket == "month":
        start = start.replace(day=1)
    answer: list[Period] = []
    while start < period.end:
        following = _after(start, bucket)
        answer.append(Period(start, following))
        if len(answer) > MAX_POINTS:
            raise bad_request(
                Message("operations.too_many_points", {"points": str(MAX_POINTS)}), field="bucket"
            )
        start = following
    return answer


def _after(start: datetime, bucket: Bucket) -> datetime:
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def trend(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    bucket: str,
    figure: str,
    filters: dict[str, str | None],
) -> list[dict[str, Any]]:
    """One figure per day, week or month over the period: the same query per bucket."""
    if bucket not in ("day", "week", "month"):
        raise bad_request(Message("operations.bucket_choices"), field="bucket")
    if figure not in kpis.FIGURES:
        raise bad_request(
            Message("operations.unknown_figure", {"figure": repr(figure)}), field="figure"
        )
    chosen = scoped(actor, filters)
    points = []
    for each in buckets(period, bucket):  # type: ignore[arg-type]
        found = kpis.figures(session, cut=Cut(each, None, chosen))[kpis.CITY]
        points.append({"start": each.start.isoformat(), "value": found[figure]})
    return points
