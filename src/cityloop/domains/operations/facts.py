"""Writing the read model: a case's facts, upserted whole, so a redelivered event changes nothing.

The bridge builds a :class:`CaseFact` from governance's case row and calls :func:`record_cases`;
the nightly reconcile calls it for every case and counts the rows it had to correct.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.domains.operations import live, rollups
from cityloop.domains.operations.models import CaseFactRow, RatingFactRow, ReworkFactRow

CLOSED = "closed"


@dataclass(frozen=True)
class RatingFact:
    rating_id: int
    stars: int
    at: datetime


@dataclass(frozen=True)
class ReworkFact:
    event_id: int
    at: datetime
    department: str | None


@dataclass(frozen=True)
class CaseFact:
    """One case as the operations centre counts it (codes and times, no personal data)."""

    case_id: int
    category: str
    priority: str
    channel: str
    department: str | None
    district: str
    street: str | None
    grid: str | None
    lat: float
    lon: float
    status: str
    created_at: datetime
    registered_at: datetime | None = None
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    response_due: datetime | None = None
    resolution_due: datetime | None = None
    on_time: bool | None = None
    handled_on_time: bool | None = None
    rework_count: int = 0
    resolution: str | None = None
    ratings: tuple[RatingFact, ...] = field(default_factory=tuple)
    reworks: tuple[ReworkFact, ...] = field(default_factory=tuple)

    def row_values(self) -> dict[str, Any]:
        """The columns of its ``ops_case_facts`` row."""
        hours = None
        if self.status == CLOSED and self.closed_at is not None:
            hours = round((self.closed_at - self.created_at).total_seconds() / 3600, 4)
        values = {
            name: getattr(self, name)
            for name in CaseFactRow.__table__.columns.keys()  # noqa: SIM118 (column names)
            if hasattr(self, name) and name not in ("ratings",)
        }
        values["ratings"] = len(self.ratings)
        values["stars_total"] = sum(r.stars for r in self.ratings)
        values["hours_to_close"] = hours
        return values

    def dimensions(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "channel": self.channel,
            "department": self.department,
            "district": self.district,
            "street": self.street,
            "grid": self.grid,
        }


def _same(row: Any, values: dict[str, Any]) -> bool:
    return all(getattr(row, key) == value for key, value in values.items())


def record_case(session: Session, *, fact: CaseFact) -> bool:
    """Upsert one case's facts (its row, ratings and reworks) and apply the change to the
    rollups in the same transaction; True when anything changed."""
    return record_cases(session, facts=[fact]) > 0


def record_cases(session: Session, *, facts: Sequence[CaseFact]) -> int:
    """Upsert several cases' facts as :func:`record_case` does, reading what is stored for all
    of them in three queries and applying their rollup changes in one; how many changed."""
    ids = [fact.case_id for fact in facts]
    rows = {
        row.case_id: row
        for row in session.scalars(select(CaseFactRow).where(CaseFactRow.case_id.in_(ids)))
    }
    old_ratings = _children(session, RatingFactRow, ids)
    old_reworks = _children(session, ReworkFactRow, ids)
    change: rollups.Contributions = defaultdict(Counter)
    changed: dict[int, CaseFactRow] = {}
    for fact in facts:
        row = _record(
            session,
            fact,
            rows.get(fact.case_id),
            old_ratings[fact.case_id],
            old_reworks[fact.case_id],
            change,
        )
        if row is not None:
            changed[fact.case_id] = rows[fact.case_id] = row
    net = {key: Counter({n: v for n, v in m.items() if v}) for key, m in change.items()}
    rollups.apply(session, {key: measures for key, measures in net.items() if measures})
    session.flush()
    live.note_cases(session, rows=list(changed.values()))  # the map's feed
    return len(changed)


def _record(
    session: Session,
    fact: CaseFact,
    row: CaseFactRow | None,
    old_ratings: list[Any],
    old_reworks: list[Any],
    change: rollups.Contributions,
) -> CaseFactRow | None:
    """Bring one case's stored facts to ``fact``, adding its rollup change to ``change``;
    its fact row when anything changed."""
    values = fact.row_values()
    before = _contributions(row, old_ratings, old_reworks)
    changed = False
    if row is None:
        row = CaseFactRow(**values, recorded_at=utcnow())
        session.add(row)
        changed = True
    elif not _same(row, values):
        for key, value in values.items():
            setattr(row, key, value)
        row.recorded_at = utcnow()
        changed = True
    dims = fact.dimensions()
    ratings = [
        {"rating_id": r.rating_id, "stars": r.stars, "at": r.at, **dims} for r in fact.ratings
    ]
    reworks = [
        {"event_id": w.event_id, "at": w.at, **dims, "department": w.department}
        for w in fact.reworks
    ]
    changed |= _replace(session, RatingFactRow, "rating_id", old_ratings, fact.case_id, ratings)
    changed |= _replace(session, ReworkFactRow, "event_id", old_reworks, fact.case_id, reworks)
    if not changed:
        return None
    after = rollups.contributions(values, ratings, reworks)
    for key, measures in rollups.delta(before, after).items():
        change[key].update(measures)
    return row


def _children(session: Session, model: Any, case_ids: Sequence[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for row in session.scalars(select(model).where(model.case_id.in_(case_ids))):
        found[row.case_id].append(row)
    return found


def _contributions(row: Any, ratings: list[Any], reworks: list[Any]) -> rollups.Contributions:
    """What a case's stored facts add to the rollups now (before they change)."""
    return rollups.contributions(
        None if row is None else rollups.values_of(row, rollups.CASE_COLUMNS),
        [rollups.values_of(r, rollups.RATING_COLUMNS) for r in ratings],
        [rollups.values_of(w, rollups.REWORK_COLUMNS) for w in reworks],
    )


def _replace(
    session: Session,
    model: Any,
    key: str,
    rows: list[Any],
    case_id: int,
    wanted: list[dict[str, Any]],
) -> bool:
    """Make a case's child facts (``rows``) exactly ``wanted``; True when a row was added,
    fixed or dropped."""
    existing = {getattr(r, key): r for r in rows}
    changed = False
    for values in wanted:
        row = existing.pop(values[key], None)
        if row is None:
            session.add(model(case_id=case_id, **values))
            changed = True
        elif not _same(row, values):
            for name, value in values.items():
                setattr(row, name, value)
            changed = True
    for row in existing.values():
        session.delete(row)
        changed = True
    return changed


def forget_cases(session: Session, *, keep: Iterable[int], below: int, above: int = 0) -> int:
    """Drop the facts of case ids in (above, below] that are not in ``keep``: cases that no
    longer exist. Returns how many case facts went."""
    keep_ids = set(keep)
    stale = [
        case_id
        for case_id in session.scalars(
            select(CaseFactRow.case_id).where(
                CaseFactRow.case_id > above, CaseFactRow.case_id <= below
            )
        )
        if case_id not in keep_ids
    ]
    if not stale:
        return 0
    for case_id in stale:  # their part of the rollups goes with them
        before = _contributions(
            session.get(CaseFactRow, case_id),
            _children(session, RatingFactRow, [case_id])[case_id],
            _children(session, ReworkFactRow, [case_id])[case_id],
        )
        rollups.apply(session, rollups.delta(before, {}))
    for model in (CaseFactRow, RatingFactRow, ReworkFactRow):
        session.execute(delete(model).where(model.case_id.in_(stale)))
    return len(stale)


def highest_case_id(session: Session) -> int:
    """The highest case id with a fact (0 when there are none)."""
    return int(session.scalar(select(func.max(CaseFactRow.case_id))) or 0)
