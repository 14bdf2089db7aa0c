"""The KPI rollups: the case facts summed per day and per grain, so a KPI over a million cases
reads a few thousand rows instead of every fact of its period.

A **grain** is a set of dimensions kept; the others are summed over (stored as ``"*"``). A cut
reads the smallest grain that holds its ``by`` dimension and every dimension it filters on; a
cut no grain holds is answered from the facts, as before the rollups.

``ops_day_rollups`` holds, per (grain, UTC day, dimensions), what happened that day: cases
registered, resolved (and by their deadline), response deadlines (and cases started by them),
cases closed (fixed ones, and a histogram of hours to close), reworks and ratings.

``ops_due_rollups`` holds the cases whose resolution deadline fell on a day, keyed also by the
day they were closed (``NEVER`` while they are not), because "closed" and "overdue" of a period
count the due cases closed *before the period's end*: a count that depends on two days at once.
The closed day is stored as ``max(closed day, due day)``: a case closed before its due day is
closed by the end of any period its due day is in, so the earlier days need no rows of their own.

Every key column is NOT NULL, so one unique key makes upserts work on both engines: a missing
value (a case not yet dispatched has no department) is ``""``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Date, Integer, PrimaryKeyConstraint, String, Table

from cityloop.base.db import Base
from cityloop.domains.operations.models import DIMENSIONS

# Summed over: the dimension is not part of the grain.
ALL = "*"
# No value: a case with no department (yet), street or grid.
MISSING = ""
# The closed day of a case not closed (yet): after every period.
NEVER = date(9999, 12, 31)

# Smallest first: a cut reads the first grain that holds its dimensions.
# Every grain costs rows (and each fact change an upsert per grain), and a grain as fine as the
# facts saves nothing, so the grains are the cuts the centre asks for most; the rest (a district
# scope cut by department, a department cut by category) are counted from the facts.
GRAINS: dict[str, tuple[str, ...]] = {
    "district": ("district",),
    "department": ("department",),
    "category": ("category",),
    "department_channel": ("department", "channel"),
    "area": ("district", "street", "grid"),
}

# Hours to close, the lower edges of the histogram's buckets (the last is open-ended). Each
# bucket also sums its quarter hours, and a percentile is the mean of its bucket: exact when the
# bucket holds one distinct value, and never further from the exact one than the bucket is wide
# (at most half its lower edge above 1 h, so within 50 %; see docs/operations-centre.md).
BUCKET_HOURS = (
    0, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 120,
    168, 240, 336, 504, 720, 1080, 1440, 2160, 4320,
)  # fmt: skip
BUCKETS = len(BUCKET_HOURS)
BUCKET_QUARTERS = tuple(int(hours * 4) for hours in BUCKET_HOURS)
HIST_COUNTS = tuple(f"hist_n_{index:02d}" for index in range(BUCKETS))
HIST_QUARTERS = tuple(f"hist_q_{index:02d}" for index in range(BUCKETS))

DAY_COUNTS = (
    "registered",
    "resolved",
    "resolved_on_time",
    "response_due",
    "responded_on_time",
    "closed",
    "fixed",
    "rework",
    "ratings",
    "stars",
    "satisfied",
)
DAY_MEASURES = DAY_COUNTS + HIST_COUNTS + HIST_QUARTERS
# ``closed_on_time``: closed (whenever) and on time; ``ended``: rejected or merged.
DUE_MEASURES = ("due", "closed_on_time", "ended")


def _key_columns() -> list[Column[str]]:
    return [
        Column("grain", String(32), nullable=False),
        *[Column(name, String(40), nullable=False) for name in DIMENSIONS],
    ]


def _measure(name: str) -> Column[int]:
    kind = BigInteger if name.startswith("hist_q_") else Integer
    return Column(name, kind, nullable=False, default=0)


day_rollups = Table(
    "ops_day_rollups",
    Base.metadata,
    *_key_columns(),
    Column("day", Date, nullable=False),
    *[_measure(name) for name in DAY_MEASURES],
    # Grain, then day: a cut's read is one range of the key; its filters test the rows in it.
    PrimaryKeyConstraint("grain", "day", *DIMENSIONS, name="pk_ops_day_rollups"),
)

due_rollups = Table(
    "ops_due_rollups",
    Base.metadata,
    *_key_columns(),
    Column("due_day", Date, nullable=False),
    Column("closed_day", Date, nullable=False),
    *[_measure(name) for name in DUE_MEASURES],
    PrimaryKeyConstraint("grain", "due_day", *DIMENSIONS, "closed_day", name="pk_ops_due_rollups"),
)


class DayRollupRow(Base):
    """What happened on one day, for one grain's combination of dimensions."""

    __table__ = day_rollups


class DueRollupRow(Base):
    """Cases due on one day and closed on another (or not yet), for one grain's dimensions."""

    __table__ = due_rollups


def grain_for(dimensions: set[str]) -> str | None:
    """The smallest grain that keeps every one of ``dimensions`` (None when none does)."""
    for name, kept in GRAINS.items():
        if dimensions <= set(kept):
            return name
    return None


def bucket_of(quarters: int) -> int:
    """The histogram bucket of a time to close given in quarter hours."""
    low, high = 0, BUCKETS - 1
    while low < high:  # the last edge not above the value
        middle = (low + high + 1) // 2
        if BUCKET_QUARTERS[middle] <= quarters:
            low = middle
        else:
            high = middle - 1
    return low
