"""Public transparency (issue 11): the city's figures for anyone, with no personal data.

What is public (docs/operations-centre.md, "Public transparency"):
- city-level counts and rates of a calendar month, with the previous month beside them;
- per-district counts and the closure rates, never a district's satisfaction (a rating is one
  person's own act, so ratings are published for the city as a whole only);
- a month's closed cases as map points: category, district, closed day and a position rounded
  to about 100 m, with no case id, time, description, photo or reporter.

Small counts: a rate whose base (due cases, cases closed, ratings, response deadlines) is
below ``THRESHOLD`` is withheld (null, and named in ``withheld``); districts with fewer than
``THRESHOLD`` cases (registered or due) are merged into one "other districts" row, whose
figures are withheld too when the merged row is still below it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.problems import Problem
from cityloop.domains.operations import kpis
from cityloop.domains.operations.cuts import Cut, Period, month_period
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import CaseFactRow
from cityloop.domains.operations.service import buckets
from cityloop.platforms.application.geo import service as geo

THRESHOLD = 5
OTHER = "other"
# Rounding map positions to three decimals of a degree keeps them within about 110 m (north to
# south; less east to west): the street, never the door.
POSITION_DECIMALS = 3
PRECISION_M = 100
MAX_POINTS = 5000
MAX_TREND_MONTHS = 24

# The figures anyone may read, and the count each rate stands on (its small-count base).
CITY_FIGURES = (
    "registered",
    "due",
    "closed",
    "overdue",
    "closed_in_period",
    "ratings",
    "closure_rate",
    "on_time_closure_rate",
    "median_hours_to_close",
    "satisfaction",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
)
DISTRICT_FIGURES = tuple(
    name for name in CITY_FIGURES if name not in ("ratings", "satisfaction", "satisfaction_rate")
)
BASE_OF = {
    "closure_rate": "due",
    "on_time_closure_rate": "due",
    "median_hours_to_close": "closed_in_period",
    "resolution_rate": "closed_in_period",
    "satisfaction": "ratings",
    "satisfaction_rate": "ratings",
    "response_rate": "response_due",
}


@dataclass(frozen=True)
class Disclosure:
    """How much a reader may see: the smallest base a figure is shown over, and the figures of
    a district or department."""

    threshold: int
    unit_figures: tuple[str, ...]


PUBLIC = Disclosure(THRESHOLD, DISTRICT_FIGURES)
# Staff of the operations centre read every figure, small counts included (audited).
STAFF = Disclosure(1, CITY_FIGURES)


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def previous_month(month: str) -> str:
    start = month_period(month).start
    year, number = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
    return f"{year:04d}-{number:02d}"


def last_complete_month(now: datetime) -> str:
    """The calendar month before ``now``'s: the newest one whose figures no longer move."""
    return previous_month(month_of(now))


def first_case_at(session: Session) -> datetime | None:
    """When the city's first case came in (None before any)."""
    first = session.scalar(select(func.min(CaseFactRow.created_at)))
    return None if first is None else first.replace(tzinfo=first.tzinfo or UTC)


def default_month(session: Session, *, now: datetime) -> str:
    """The month shown when none is asked for: the last complete one, or the month going on
    while the city's first case is younger than that (a new city has figures at once)."""
    last = last_complete_month(now)
    first = first_case_at(session)
    if first is not None and month_period(last).end <= first:
        return month_of(now)
    return last


def published_month(session: Session, *, month: str, now: datetime) -> Period:
    """A month the public may read: well formed (400), begun (404) and not before the city's
    first case (404)."""
    period = month_period(month)
    if period.start > now:
        raise Problem(
            404, "not-found", Message("operations.month_not_begun", {"month": month}), field="month"
        )
    first = first_case_at(session)
    if first is None:
        raise Problem(404, "not-found", Message("operations.no_cases_yet"), field="month")
    if period.end <= first:
        raise Problem(
            404,
            "not-found",
            Message(
                "operations.month_before_first_case", {"month": month, "first": month_of(first)}
            ),
            field="month",
        )
    return period


def public_figures(
    tally: kpis.Tally, names: tuple[str, ...], threshold: int = THRESHOLD
) -> dict[str, Any]:
    """The public figures of one tally: rates over a small base withheld and named."""
    found = tally.figures()
    answer: dict[str, Any] = {name: found[name] for name in names}
    withheld = []
    for name in names:
        base = BASE_OF.get(name)
        if base is not None and 0 < getattr(tally, base) < threshold:
            answer[name] = None
            withheld.append(name)
    answer["withheld"] = withheld
    return answer


def _size(tally: kpis.Tally) -> int:
    return max(tally.registered, tally.due)


def _merged(tallies: list[kpis.Tally]) -> kpis.Tally:
    """The sum of the tallies' counts (a median cannot be summed: it stays unknown)."""
    total = kpis.Tally()
    for tally in tallies:
        for each in fields(kpis.Tally):
            if each.name in kpis.COUNTS:
                setattr(total, each.name, getattr(total, each.name) + getattr(tally, each.name))
    return total


def district_rows(
    session: Session,
    *,
    current: dict[str, kpis.Tally],
    previous: dict[str, kpis.Tally],
    disclosure: Disclosure = PUBLIC,
) -> list[dict[str, Any]]:
    """One row per district big enough to stand alone, then the merged "other districts"."""
    names, threshold = disclosure.unit_figures, disclosure.threshold

    def shown(tally: kpis.Tally) -> dict[str, Any]:
        if threshold > 1 and _size(tally) < threshold:
            return {name: None for name in names} | {"withheld": list(names)}
        return public_figures(tally, names, threshold)

    areas = geo.jurisdiction_index(session).areas
    alone, small = [], []
    for key in sorted(set(current) | set(previous)):
        if key == kpis.CITY:
            continue
        now, before = current.get(key, kpis.Tally()), previous.get(key, kpis.Tally())
        stands_alone = threshold <= 1 or _size(now) >= threshold
        (alone if stands_alone else small).append((key, now, before))
    rows = []
    for key, now, before in alone:
        area = areas.get(key)
        rows.append(
            {
                "key": key,
                "name": area.name if area else key,
                "name_zh": area.name_zh if area and area.name_zh else None,
                "merged": [],
                "figures": shown(now),
                "previous": shown(before),
            }
        )
    if small:
        now = _merged([t for _, t, _ in small])
        before = _merged([t for _, _, t in small])
        rows.append(
            {
                "key": OTHER,
                "name": None,
                "name_zh": None,
                "merged": [key for key, _, _ in small],
                "figures": shown(now),
                "previous": shown(before),
            }
        )
    return rows


def public_kpis(
    session: Session, *, month: str | None, now: datetime, disclosure: Disclosure = PUBLIC
) -> dict[str, Any]:
    """The city's figures of a month (the last complete one by default) beside the previous
    month's, and per district, with small counts withheld or merged."""
    threshold = disclosure.threshold
    chosen = month or default_month(session, now=now)
    period = published_month(session, month=chosen, now=now)
    before = previous_month(chosen)
    current = kpis.tallies(session, cut=Cut(period, "district"))
    previous = kpis.tallies(session, cut=Cut(month_period(before), "district"))
    return {
        "month": chosen,
        "previous_month": before,
        "complete": period.end <= now,
        "threshold": threshold,
        "city": public_figures(current[kpis.CITY], CITY_FIGURES, threshold),
        "previous": public_figures(previous[kpis.CITY], CITY_FIGURES, threshold),
        "districts": district_rows(
            session, current=current, previous=previous, disclosure=disclosure
        ),
    }


def public_trends(
    session: Session, *, months: int, end: str | None, now: datetime
) -> dict[str, Any]:
    """The city's figures month by month, the last ``months`` up to ``end`` (the last complete
    month by default), oldest first."""
    if not 1 <= months <= MAX_TREND_MONTHS:
        raise Problem(
            400,
            "invalid-input",
            Message("operations.trend_months", {"most": str(MAX_TREND_MONTHS)}),
            field="months",
        )
    last = end or default_month(session, now=now)
    published_month(session, month=last, now=now)
    chosen = [last]
    while len(chosen) < months:
        chosen.append(previous_month(chosen[-1]))
    points = []
    for month in reversed(chosen):
        tally = kpis.tallies(session, cut=Cut(month_period(month)))[kpis.CITY]
        points.append({"month": month, **public_figures(tally, CITY_FIGURES)})
    return {"threshold": THRESHOLD, "points": points}


def daily_counts(session: Session, *, period: Period) -> list[dict[str, Any]]:
    """Cases registered and closed each UTC day of the period (city-wide counts, as the KPIs
    count them): two range scans of covering indexes, counted here by day."""
    f = CaseFactRow
    registered = session.scalars(
        select(f.registered_at).where(f.registered_at >= period.start, f.registered_at < period.end)
    )
    closed = session.scalars(
        select(f.closed_at).where(
            f.status == "closed", f.closed_at >= period.start, f.closed_at < period.end
        )
    )
    counts: dict[str, Counter[str]] = {"registered": Counter(), "closed": Counter()}
    for name, moments in (("registered", registered), ("closed", closed)):
        for moment in moments:
            counts[name][_utc(moment).date().isoformat()] += 1
    days = [day.start.date().isoformat() for day in buckets(period, "day")]
    return [
        {"day": day, "registered": counts["registered"][day], "closed": counts["closed"][day]}
        for day in days
    ]


def _utc(moment: datetime) -> datetime:
    """A stored time in UTC (SQLite hands times back without their zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def closed_cases(session: Session, *, month: str | None, now: datetime) -> dict[str, Any]:
    """The month's closed cases as coarse map points: what was fixed where, never by whom."""
    month = month or default_month(session, now=now)
    period = published_month(session, month=month, now=now)
    f = CaseFactRow
    rows = session.execute(
        select(f.category, f.district, f.closed_at, f.lat, f.lon)
        .where(f.status == "closed", f.closed_at >= period.start, f.closed_at < period.end)
        .limit(MAX_POINTS + 1)
    ).all()
    points = [
        {
            "category": category,
            "district": district,
            "closed_on": _utc(closed_at).date().isoformat(),
            "lat": round(lat, POSITION_DECIMALS),
            "lon": round(lon, POSITION_DECIMALS),
        }
        for category, district, closed_at, lat, lon in rows[:MAX_POINTS]
    ]
    # Sorted by day, category and place, so the order tells nothing of the cases' ids or times.
    points.sort(key=lambda p: (p["closed_on"], p["category"], p["lat"], p["lon"]))
    return {
        "month": month,
        "precision_m": PRECISION_M,
        "truncated": len(rows) > MAX_POINTS,
        "points": points,
    }
