"""City vital signs, for `make bench`: every indicator of Riverton's ``vitals.yaml`` over fleets of
1,000 and 10,000 sensors with a day of readings, on SQLite and, when a server answers, PostgreSQL.

The fleet is bulk-inserted with Core: the seven indicators' profiles in equal shares, each device
with its latest values and a reading every 30 minutes over the last 24 hours, half of them
inside one district; alarm rules as in the demo and an active alarm on one device in fifty.
Each sample is ``vitals.vital_signs`` (what `GET /api/v1/operations/vitals` does without HTTP:
seven values, seven 24-hour trends, the linked alarms): for the whole city with nothing kept (a
first request: every trend reads its 24 hours), then as the console's refresh finds it (closed
hours kept, the current hour read), for the city and for the district (whose devices are placed
on the map in Python). Target: p95 < 300 ms for the city at 10,000
devices. Ceiling, in the same run: ``SELECT count(*)`` of the latest-value table.

Run: .venv/bin/python benchmarks/vitals.py [--sizes 1000 10000] [--samples 10]
     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --no-postgres]
Writes benchmarks/results/vitals.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import func, insert, select, text  # noqa: E402

from cityloop.base.db import Base, Database  # noqa: E402
from cityloop.demo.vitals import read_vitals  # noqa: E402
from cityloop.domains.operations import vital_figures, vitals  # noqa: E402
from cityloop.domains.operations.vital_models import VitalSign  # noqa: E402
from cityloop.platforms.application.geo import service as geo  # noqa: E402
from cityloop.platforms.application.geo.models import Jurisdiction  # noqa: E402
from cityloop.platforms.application.identity.service import Actor  # noqa: E402
from cityloop.platforms.data.perception.alarm_models import Alarm, AlarmRule  # noqa: E402
from cityloop.platforms.data.perception.models import (  # noqa: E402
    Device,
    DeviceProfile,
    LatestValue,
    Measurement,
    ProvisioningGroup,
)
from harness import machine_info  # noqa: E402
from operations_kpis import DEFAULT_PG, _summary, databases, timed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "vitals.json"
CEILING = "ceiling: count(*) of the day's readings"
TARGET_P95_MS = 300.0
READER = Actor(None, "bench", "supervisor")
NOW = datetime.now(UTC).replace(minute=50, second=0, microsecond=0)
BATCH = 20_000
# One square district over the western half of the fleet's box.
WEST, SOUTH, EAST, NORTH = 120.0, 30.0, 120.2, 30.1
DISTRICT = "D1"
MIDDLE = (WEST + EAST) / 2
DISTRICT_RING = [[WEST, SOUTH], [MIDDLE, SOUTH], [MIDDLE, NORTH], [WEST, NORTH], [WEST, SOUTH]]


def _value(sign: vitals.VitalInput, rng: random.Random) -> Any:
    """A plausible latest value for the indicator's attribute."""
    if sign.aggregation in ("share_equal", "count_equal"):
        return sign.operand if rng.random() < 0.3 else "other"
    return round(rng.uniform(0, 2 * sign.critical), 3)


def seed(db: Database, count: int) -> float:
    """A fleet of ``count`` devices with a day of readings and some alarms; seconds taken."""
    rng = random.Random(count)
    started = time.perf_counter()
    signs = read_vitals()
    profiles = sorted({data.profile_code for _, data in signs})
    with db.engine.begin() as connection:
        for index, code in enumerate(profiles):
            connection.execute(
                insert(DeviceProfile),
                {"code": code, "name": code, "entity_type": f"Type{index}", "codec": "json"},
            )
            connection.execute(
                insert(ProvisioningGroup),
                {"id": index + 1, "apikey": f"bench{index}", "profile_code": code},
            )
        for code, data in signs:
            connection.execute(insert(VitalSign), {"code": code, **vars(data)})
            connection.execute(
                insert(AlarmRule),
                {
                    "name": code,
                    "profile_code": data.profile_code,
                    "kind": "threshold",
                    "definition": {"attribute": data.attribute},
                    "alarm_type": code.upper(),
                    "severity": "MINOR",
                },
            )
        connection.execute(
            insert(Jurisdiction),
            {
                "code": DISTRICT,
                "level": "district",
                "name": DISTRICT,
                "geometry": {"type": "Polygon", "coordinates": [DISTRICT_RING]},
                "label_lon": WEST,
                "label_lat": SOUTH,
            },
        )
    rules = {}
    with db.engine.connect() as connection:
        for rule_id, profile in connection.execute(select(AlarmRule.id, AlarmRule.profile_code)):
            rules.setdefault(profile, rule_id)
    devices, latest, history, alarms = [], [], [], []

    def flush() -> None:
        with db.engine.begin() as connection:
            for table, rows in ((Device, devices), (LatestValue, latest), (Measurement, history),
                                (Alarm, alarms)):  # fmt: skip
                if rows:
                    connection.execute(insert(table), rows)
                    rows.clear()

    for number in range(count):
        code, data = signs[number % len(signs)]
        group = profiles.index(data.profile_code) + 1
        device_id, entity_id = f"bench-{number}", f"urn:ngsi-ld:Thing:bench-{number}"
        devices.append(
            {
                "device_id": device_id,
                "group_id": group,
                "profile_code": data.profile_code,
                "entity_id": entity_id,
                "lat": rng.uniform(SOUTH, NORTH),
                "lon": rng.uniform(WEST, EAST),
            }
        )
        for step in range(48):
            value = _value(data, rng)
            at = NOW - timedelta(minutes=30 * step)
            is_number = isinstance(value, float)
            history.append(
                {
                    "device_id": device_id,
                    "entity_id": entity_id,
                    "attribute": data.attribute,
                    "observed_at": at,
                    "num_value": value if is_number else None,
                    "text_value": None if is_number else value,
                }
            )
            if step == 0:
                latest.append(
                    {
                        "entity_id": entity_id,
                        "attribute": data.attribute,
                        "device_id": device_id,
                        "value": value,
                        "observed_at": at,
                    }
                )
        if number % 50 == 0:
            alarms.append(
                {
                    "originator_id": device_id,
                    "entity_id": entity_id,
                    "type": code.upper(),
                    "severity": "MINOR",
                    "status": "ACTIVE_UNACK",
                    "rule_id": rules[data.profile_code],
                }
            )
        if len(history) >= BATCH:
            flush()
    flush()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        is_pg = db.engine.dialect.name == "postgresql"
        connection.execute(text("VACUUM ANALYZE" if is_pg else "ANALYZE"))
    geo.forget_cached_index()
    return time.perf_counter() - started


def measure(db: Database, samples: int) -> dict[str, Any]:
    """p50/p95 of the whole screen for the city and for the district, and of the ceiling."""
    figures: dict[str, Any] = {}
    with db.read() as session:
        for name, district, cold in (
            ("city, first request", None, True),
            ("city", None, False),
            ("district", DISTRICT, False),
        ):
            latencies = []
            for index in range(samples + 2):
                if cold:  # nothing kept: every trend reads its 24 hours
                    vital_figures.forget_trends()
                took = timed(
                    lambda district=district: vitals.vital_signs(
                        session, actor=READER, district=district, now=NOW
                    )
                )
                if index >= 2:  # the first ones warm the caches
                    latencies.append(took)
            figures[name] = _summary(latencies)
        day = select(func.count()).where(Measurement.observed_at >= NOW - timedelta(hours=24))
        ceiling = [timed(lambda: session.scalar(day)) for _ in range(samples)]
        figures[CEILING] = _summary(ceiling)
    return figures


TABLES = (
    DeviceProfile, ProvisioningGroup, Device, LatestValue, Measurement, AlarmRule, Alarm,
    VitalSign, Jurisdiction,
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with databases(None if args.no_postgres else args.postgres) as engines:
        for engine, make in engines:
            for size in args.sizes:
                db = make()
                Base.metadata.create_all(db.engine, tables=[m.__table__ for m in TABLES])
                seconds = seed(db, size)
                figures = measure(db, args.samples)
                db.dispose()
                result = {
                    "engine": engine,
                    "devices": size,
                    "readings": size * 48,
                    "seed_seconds": round(seconds, 1),
                    "figures": figures,
                }
                results.append(result)
                ceiling = figures[CEILING]["p50_ms"]
                print(
                    f"{engine}, {size:,} devices ({size * 48:,} readings, seeded in "
                    f"{seconds:.0f} s); target p95 < {TARGET_P95_MS:.0f} ms for the city"
                )
                for name, figure in figures.items():
                    ratio = figure["p50_ms"] / ceiling if ceiling else 0
                    print(
                        f"  {name:42} p50 {figure['p50_ms']:8.1f} ms  p95 "
                        f"{figure['p95_ms']:8.1f} ms  ({ratio:,.0f} × ceiling)"
                    )
    RESULTS.write_text(
        json.dumps(
            {"machine": machine_info(), "target_p95_ms": TARGET_P95_MS, "results": results},
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
