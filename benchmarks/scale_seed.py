"""Bulk seeding for benchmarks/scale.py: N cases of the demo city with their reports, timeline
rows and deadlines, and sensor readings, written in big chunks (Core ``insert()`` executemany
on SQLite, ``COPY`` through psycopg on PostgreSQL), so a million cases take minutes, not hours.

The city is spread as a real one is: departments and categories skewed (a few take most
cases), two years of history with most old cases closed and a live backlog of recent ones,
points uniform inside the demo city's grid cells. Ids are given here, so children are written
without reading their parents back, and they grow with the cases' age as intake's do.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, text

from cityloop.base.db import Database
from cityloop.demo.city import build_demo_city
from cityloop.domains.governance.models import Case, CaseEvent, Report
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity

NOW = datetime.now(UTC).replace(microsecond=0)
HISTORY_DAYS = 730
CHUNK = 20_000
READING_ENTITIES = 500  # readings spread over this many sensor series
READING_STEP = timedelta(minutes=1)
READING_TYPE = "https://uri.etsi.org/ngsi-ld/default-context/Streetlight"
# Stored compact, as the temporal API stores a name of the core context.
READING_ATTRIBUTE = "illuminance"


def reading_entity(number: int) -> str:
    """The NGSI-LD id of the ``number``th sensor series."""
    return f"urn:ngsi-ld:Streetlight:bench-{number}"


@dataclass
class City:
    """What a seeded case may name: categories (with their department, priority and SLA) and
    grid cells (with their street, district and bounding box)."""

    categories: list[tuple[str, str, str, int, int]]  # code, department, priority, resp, res min
    category_weights: list[float]
    grids: list[tuple[str, str, str, tuple[float, float, float, float]]]

    @classmethod
    def demo(cls) -> City:
        city = build_demo_city()
        sla = {(s.category_code, s.priority): s for s in city.sla_targets}
        categories = []
        for spec in city.categories:
            target = sla.get((spec.code, spec.priority))
            response, resolution = (
                (target.response_minutes, target.resolution_minutes) if target else (240, 4320)
            )
            categories.append(
                (spec.code, spec.default_department, spec.priority, response, resolution)
            )
        parents = {j.code: j.parent_code for j in city.jurisdictions}
        grids = []
        for j in city.jurisdictions:
            if j.level == "grid" and j.parent_code:
                lons = [p[0] for p in j.polygon]
                lats = [p[1] for p in j.polygon]
                box = (min(lons), min(lats), max(lons), max(lats))
                grids.append((j.code, j.parent_code, parents[j.parent_code] or "", box))
        # Zipf-like: the commonest category is reported ten times as often as the tenth.
        weights = [1 / (rank + 1) for rank in range(len(categories))]
        return cls(categories, weights, grids)


def _case_rows(city: City, first_id: int, count: int, rng: random.Random) -> Iterator[tuple]:
    """(case row, report row, event rows) for cases ``first_id`` .. ``first_id + count - 1``."""
    picks = rng.choices(city.categories, weights=city.category_weights, k=count)
    # Recent days are busier (the city grows), and the age decides the state. Oldest first, so
    # ids grow with time as intake gives them.
    ages = sorted((HISTORY_DAYS * 1440 * rng.random() ** 1.5 for _ in range(count)), reverse=True)
    for offset, (code, department, priority, response_min, resolution_min) in enumerate(picks):
        case_id = first_id + offset
        grid, street, district, (x0, y0, x1, y1) = rng.choice(city.grids)
        lon, lat = round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)
        age = timedelta(minutes=ages[offset])
        created = NOW - age
        status = _status(age, rng)
        dispatched = created + timedelta(minutes=rng.randint(5, 120))
        in_hand = status not in ("submitted", "registered", "rejected", "merged")
        case = {
            "id": case_id,
            "status": status,
            "category_code": code,
            "priority": priority,
            "channel": rng.choice(("app", "app", "app", "hotline", "hotline", "inspector")),
            "description": f"bench case {case_id}",
            "lat": lat,
            "lon": lon,
            "address": None,
            "district_code": district,
            "street_code": street,
            "grid_code": grid,
            "department_code": department if in_hand else None,
            "routing": {"department": department},
            "source_ref": {},
            "created_at": created,
            "updated_at": created + timedelta(hours=1) if in_hand else created,
            "registered_at": created if status != "submitted" else None,
            "dispatched_at": dispatched if in_hand else None,
            "closed_at": created + timedelta(days=rng.uniform(0.5, 10))
            if status == "closed"
            else None,
            "last_public_update_at": created,
            "response_due": dispatched + timedelta(minutes=response_min) if in_hand else None,
            "resolution_due": dispatched + timedelta(minutes=resolution_min) if in_hand else None,
            "response_overdue": False,
            "overdue": in_hand and status != "closed" and age > timedelta(days=3),
            "update_overdue": False,
            "escalated": False,
            "content_public": True,
            "rework_count": 0,
            "resolution": "fixed" if status in ("resolved", "closed") else None,
            "dispute_open": False,
            "supporters": 0,
            "version": 1,
        }
        report = {
            "id": case_id,
            "case_id": case_id,
            "channel": case["channel"],
            "is_origin": True,
            "created_at": created,
            "description": case["description"],
            "lat": lat,
            "lon": lon,
            "media_ids": [],
            "attributes": {},
            "tracking_token": f"bench{case_id:012d}",
        }
        yield case, report, _events(case_id, status, created, dispatched, department)


def _status(age: timedelta, rng: random.Random) -> str:
    roll = rng.random()
    if age > timedelta(days=30):  # old: done, but for a small overdue backlog
        if roll < 0.90:
            return "closed"
        return "rejected" if roll < 0.95 else ("merged" if roll < 0.98 else "in_progress")
    states = ("submitted", "registered", "dispatched", "in_progress", "resolved", "closed")
    return rng.choices(states, weights=(3, 3, 20, 30, 14, 30))[0]


_PATH = ("submit", "register", "dispatch", "start", "resolve", "verify")
_TARGET = {
    "submit": "submitted",
    "register": "registered",
    "dispatch": "dispatched",
    "start": "in_progress",
    "resolve": "resolved",
    "verify": "closed",
}


def _events(
    case_id: int, status: str, created: datetime, dispatched: datetime, department: str
) -> list[dict[str, Any]]:
    """The timeline that led to ``status``: the workflow's path, one row per step."""
    if status in ("rejected", "merged"):
        steps = [("submit", None, "submitted"), ("reject", "submitted", status)]
    else:
        steps, previous = [], None
        for action in _PATH:
            steps.append((action, previous, _TARGET[action]))
            previous = _TARGET[action]
            if previous == status:
                break
    rows = []
    for n, (action, before, after) in enumerate(steps):
        at = created if n == 0 else dispatched + timedelta(hours=n)
        rows.append(
            {
                "case_id": case_id,
                "at": at,
                "action": action,
                "from_status": before,
                "to_status": after,
                "actor": "bench",
                "actor_role": "system",
                "department_code": department if n >= 2 else None,
                "public_message": f"{after}",
                "note": None,
                "note_public": False,
                "attachments": [],
                "data": {},
            }
        )
    return rows


def _write(db: Database, table: Table, rows: list[dict[str, Any]]) -> None:
    """One chunk: COPY on PostgreSQL (the driver's fastest path), executemany elsewhere."""
    if not rows:
        return
    if db.engine.dialect.name != "postgresql":
        with db.engine.begin() as connection:
            connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    raw = db.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_copy_value(row[c]) for c in columns])
        raw.commit()
    finally:
        raw.close()


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def seed_cases(db: Database, *, first_id: int, count: int, seed: int = 13) -> float:
    """Cases ``first_id`` .. ``first_id + count - 1`` with one report each and their
    timelines; the seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed + first_id)
    city = City.demo()
    cases: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for case, report, timeline in _case_rows(city, first_id, count, rng):
        cases.append(case)
        reports.append(report)
        events.extend(timeline)
        if len(cases) >= CHUNK:
            _flush(db, cases, reports, events)
    _flush(db, cases, reports, events)
    _after_bulk(db, ("cases", "reports", "case_events"))
    return time.perf_counter() - started


def _flush(db: Database, *batches: list[dict[str, Any]]) -> None:
    for table, rows in zip((Case, Report, CaseEvent), batches, strict=True):
        _write(db, table.__table__, rows)  # type: ignore[arg-type]
        rows.clear()


def seed_readings(db: Database, *, first: int, count: int) -> float:
    """Readings ``first`` .. ``first + count - 1``, round-robin over the sensor series, each
    series one a minute going back from now (so the last hour of a series is always 60
    readings, whatever the total); the seconds taken."""
    started = time.perf_counter()
    if first == 0:
        with db.engine.begin() as connection:
            connection.execute(
                insert(NgsiEntity.__table__),  # type: ignore[arg-type]
                [
                    {
                        "tenant": "",
                        "entity_id": reading_entity(n),
                        "type": READING_TYPE,
                        "types": [READING_TYPE],
                        "attrs": {},
                        "created_at": NOW,
                        "modified_at": NOW,
                    }
                    for n in range(READING_ENTITIES)
                ],
            )
    rng = random.Random(first)
    for start in range(first, first + count, CHUNK):
        rows = list(_readings(start, min(CHUNK, first + count - start), rng))
        _write(db, Measurement.__table__, rows)  # type: ignore[arg-type]
    _after_bulk(db, ("measurements",))
    return time.perf_counter() - started


def _readings(start: int, count: int, rng: random.Random) -> Iterable[dict[str, Any]]:
    for n in range(start, start + count):
        value = round(rng.uniform(0, 400), 1)
        at = NOW - READING_STEP * (n // READING_ENTITIES)
        yield {
            "tenant": "",
            "device_id": f"bench-{n % READING_ENTITIES}",
            "entity_id": reading_entity(n % READING_ENTITIES),
            "attribute": READING_ATTRIBUTE,
            "observed_at": at,
            "num_value": value,
            "kind": "Property",
            "dataset_id": "",
        }


def _after_bulk(db: Database, tables: Iterable[str]) -> None:
    """Sequences moved past the ids given here (PostgreSQL), and fresh planner statistics."""
    is_pg = db.engine.dialect.name == "postgresql"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            if is_pg:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
                connection.execute(text(f"VACUUM ANALYZE {table}"))
            else:
                connection.execute(text(f"ANALYZE {table}"))
        if not is_pg:
            # The bulk load sits in the WAL: fold it in now, or the first measured write pays.
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
