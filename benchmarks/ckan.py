"""The CKAN action API, for `make bench`: package_search over 10,000 open datasets and
datastore_search over a 1,000,000-row DataStore table, on the embedded SQLite database.

- **package_search** with ``q`` (one word), ``fq`` (a tag, an organization, a format, a theme or
  a licence, sometimes two) and five facet fields, 10 rows, against `cityloop serve` over
  loopback HTTP, one request at a time. The catalogue holds 10,000 open datasets (and 1,000
  shared ones search must leave out), each with 2 to 4 tags and 3 or 4 resources. Target p95
  < 50 ms. Ceiling: ``status_show`` through the same server (the same envelope, no search). The
  same searches are also timed calling the action in this process (no HTTP), and the cost of
  building the search index from scratch is printed.
- **datastore_search** over a table of 1,000,000 rows (day, district, category, count, value,
  every scalar column indexed as the DataStore indexes them), with ``filters`` on a category,
  a district, or both, 100 rows and the total. Target p95 < 100 ms. Ceiling: the same action
  filtering on ``_id`` (one row by its primary key).

Each figure is the median of three runs of 200 requests (after 20 not counted).

Run: .venv/bin/python benchmarks/ckan.py [--datasets 10000] [--rows 1000000] [--runs 3]
Writes benchmarks/results/ckan.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import insert, select  # noqa: E402

from cityloop.app import build_context  # noqa: E402
from cityloop.base.db import Database  # noqa: E402
from cityloop.demo import seed as demo  # noqa: E402
from cityloop.migrate import upgrade  # noqa: E402
from cityloop.platforms.application.identity.models import Department  # noqa: E402
from cityloop.platforms.data.catalogue import datastore  # noqa: E402
from cityloop.platforms.data.catalogue.models import Dataset, Distribution  # noqa: E402
from cityloop.platforms.data.catalogue.vocabularies import FORMATS, THEMES  # noqa: E402
from cityloop.platforms.data.ckan.actions import Call, package_search  # noqa: E402
from cityloop.platforms.data.ckan.index import SearchIndex  # noqa: E402
from cityloop.platforms.data.ckan.packages import Site  # noqa: E402
from cityloop.settings import Settings  # noqa: E402
from harness import Server, machine_info, percentile  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "ckan.json"
TARGETS = {"package_search_p95_ms": 50.0, "datastore_search_p95_ms": 100.0}
REQUESTS, WARM_UP = 200, 20
FACETS = json.dumps(["organization", "groups", "tags", "res_format", "license_id"])
WORDS = [
    ("air", "空气"), ("noise", "噪声"), ("water", "水质"), ("bus", "公交"), ("parking", "停车"),
    ("bicycle", "自行车"), ("tree", "树木"), ("park", "公园"), ("school", "学校"),
    ("hospital", "医院"), ("road", "道路"), ("bridge", "桥梁"), ("light", "路灯"),
    ("waste", "垃圾"), ("recycling", "回收"), ("flood", "洪水"), ("rain", "降雨"),
    ("traffic", "交通流量"), ("accident", "事故"), ("permit", "许可"), ("budget", "预算"),
    ("tax", "税收"), ("population", "人口"), ("housing", "住房"), ("energy", "能源"),
    ("solar", "太阳能"), ("library", "图书馆"), ("museum", "博物馆"), ("market", "市场"),
    ("toilet", "厕所"), ("bench", "长椅"), ("fountain", "喷泉"), ("playground", "游乐场"),
    ("metro", "地铁"), ("taxi", "出租车"), ("charging", "充电桩"), ("complaint", "投诉"),
    ("inspection", "检查"), ("construction", "施工"), ("sewer", "污水"), ("drain", "排水"),
    ("heat", "高温"), ("wind", "风速"), ("pollen", "花粉"), ("dust", "扬尘"), ("river", "河道"),
    ("boat", "船舶"), ("ferry", "轮渡"), ("harbour", "港口"), ("tourism", "旅游"),
]  # fmt: skip
LICENCES = ("CC-BY-4.0", "CC0-1.0", "ODbL-1.0")
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "IRREG")


def seed_catalogue(db: Database, *, datasets: int, rng: random.Random) -> list[str]:
    """``datasets`` open datasets and a tenth as many shared ones, with their distributions,
    inserted in bulk; the department codes."""
    with db.writing() as session:
        departments = list(session.scalars(select(Department.code)))
    now = datetime.now(UTC)
    themes = list(THEMES)
    total = datasets + datasets // 10
    for first in range(0, total, 2000):
        dataset_rows: list[dict[str, Any]] = []
        for n in range(first, min(first + 2000, total)):
            chosen = rng.sample(WORDS, 6)
            tags = [w for w, _ in chosen[: rng.randint(2, 4)]]
            modified = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
            dataset_rows.append(
                {
                    "id": n + 1,
                    "name": f"dataset-{n:05d}",
                    "owner_department": rng.choice(departments),
                    "title": f"{chosen[0][0].title()} and {chosen[1][0]} {n}",
                    "title_zh": f"{chosen[0][1]}与{chosen[1][1]}{n}",
                    "description": " ".join(w for w, _ in chosen[2:]) + f" records of {n}.",
                    "description_zh": "".join(z for _, z in chosen[2:]) + "记录。",
                    "keywords": tags,
                    "theme": rng.choice(themes),
                    "spatial": "riverton",
                    "frequency": rng.choice(FREQUENCIES),
                    "licence": rng.choice(LICENCES) if n < datasets else "internal",
                    "sensitivity": "open" if n < datasets else "shared",
                    "source": "upload",
                    "producer": None,
                    "view_query": None,
                    "table_schema": {"fields": [{"name": "value", "type": "integer"}]},
                    "created_at": modified - timedelta(days=30),
                    "modified_at": modified,
                    "refreshed_at": modified,
                    "dirty": False,
                    "row_count": 100,
                    "quality": {},
                    "stale": False,
                    "active": True,
                }
            )
        files = [
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "dataset_id": row["id"],
                "format": fmt,
                "media_type": FORMATS[fmt][0],
                "storage_key": None,
                "byte_size": rng.randrange(1000, 10**7),
                "sha256": "0" * 64,
                "row_count": 100,
                "generated_at": row["modified_at"],
            }
            for row in dataset_rows
            for fmt in FORMATS
            if fmt != "GeoJSON" or row["id"] % 2
        ]
        with db.writing() as session:
            session.execute(insert(Dataset), dataset_rows)
            session.execute(insert(Distribution), files)
    return departments


BIG_SCHEMA = {
    "fields": [
        {"name": "day", "type": "date"},
        {"name": "district", "type": "string"},
        {"name": "category", "type": "string"},
        {"name": "count", "type": "integer"},
        {"name": "value", "type": "number"},
    ]
}
DISTRICTS = [f"D{n:02d}" for n in range(12)]
CATEGORIES = [f"C-{n:02d}" for n in range(60)]


def big_rows(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC).date()
    for n in range(count):
        yield {
            "day": (start + timedelta(days=n % 730)).isoformat(),
            "district": DISTRICTS[rng.randrange(12)],
            "category": CATEGORIES[rng.randrange(60)],
            "count": rng.randrange(1000),
            "value": rng.random() * 100,
        }


def seed_big_table(db: Database, *, rows: int, rng: random.Random) -> tuple[str, float]:
    """One open dataset of ``rows`` rows in the DataStore; its resource id and the seconds the
    rows took."""
    now = datetime.now(UTC)
    resource_id = str(uuid.uuid4())
    with db.writing() as session:
        dataset = Dataset(
            name="bench-big-table", owner_department="command", title="Big table",
            title_zh="大表", theme="GOVE", frequency="DAILY", licence="CC-BY-4.0",
            sensitivity="open", source="upload", table_schema=BIG_SCHEMA, refreshed_at=now,
            dirty=False, row_count=rows,
        )  # fmt: skip
        session.add(dataset)
        session.flush()
        started = time.perf_counter()
        datastore.replace_rows(
            session, dataset_id=dataset.id, schema=BIG_SCHEMA, rows=big_rows(rows, rng)
        )
        seconds = time.perf_counter() - started
        session.add(
            Distribution(
                id=resource_id,
                dataset_id=dataset.id,
                format="CSV",
                media_type="text/csv",
                generated_at=now,
            )
        )
    return resource_id, seconds


def timed(samples: int, request: Callable[[int], None]) -> dict[str, float]:
    """p50 and p95 of ``samples`` calls (after a warm-up not counted), in milliseconds."""
    for n in range(WARM_UP):
        request(n)
    times = []
    for n in range(samples):
        started = time.perf_counter()
        request(n)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2)}


def search_params(rng: random.Random, departments: list[str]) -> dict[str, str]:
    """One package_search as a portal sends it: a word, a filter or two, the five facets."""
    word = rng.choice(WORDS)[rng.randrange(2)]
    filters = [
        f"tags:{rng.choice(WORDS)[0]}",
        f'organization:"{rng.choice(departments)}"',
        f"res_format:{rng.choice(list(FORMATS))}",
        f"groups:{rng.choice(list(THEMES)).lower()}",
        f"license_id:{rng.choice(LICENCES)}",
    ]
    fq = " ".join(rng.sample(filters, rng.choice((1, 1, 2))))
    return {"q": word, "fq": fq, "facet.field": FACETS, "rows": "10"}


def checked(response: httpx.Response) -> None:
    if response.status_code != 200 or not response.json()["success"]:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


def one_run(
    base: str, departments: list[str], resource_id: str, seed: int, rows: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    searches = [search_params(rng, departments) for _ in range(REQUESTS + WARM_UP)]
    filters = []
    for n in range(REQUESTS + WARM_UP):
        kind = n % 3
        chosen = {"category": rng.choice(CATEGORIES)}
        if kind:
            chosen["district"] = rng.choice(DISTRICTS)
        if kind == 2:
            chosen.pop("category")
        filters.append(json.dumps(chosen))
    api = f"{base}/api/3/action"
    with httpx.Client(timeout=60) as client:

        def search(n: int) -> None:
            checked(client.get(f"{api}/package_search", params=searches[n]))

        def status(n: int) -> None:
            checked(client.get(f"{api}/status_show"))

        def rows_of(n: int) -> None:
            params = {"resource_id": resource_id, "filters": filters[n], "limit": "100"}
            checked(client.get(f"{api}/datastore_search", params=params))

        def by_id(n: int) -> None:
            params = {
                "resource_id": resource_id,
                "filters": json.dumps({"_id": 1 + n * 997 % rows}),
            }
            checked(client.get(f"{api}/datastore_search", params=params))

        return {
            "package_search": timed(REQUESTS, search),
            "status_show": timed(REQUESTS, status),
            "datastore_search": timed(REQUESTS, rows_of),
            "datastore_by_id": timed(REQUESTS, by_id),
        }


def in_process(data_dir: Path, departments: list[str], runs: int) -> dict[str, Any]:
    """The same searches calling the action in this process; and the index built from scratch."""
    settings = Settings(data_dir=data_dir, run_background=False, secret_key="x" * 40)
    ctx = build_context(settings)
    site = Site.of(settings)
    builds, service = [], []
    for run in range(runs):
        index = SearchIndex(settings.city_domain)
        started = time.perf_counter()
        with ctx.reading() as session:
            index.current(session)
        builds.append((time.perf_counter() - started) * 1000)
        rng = random.Random(run)
        searches = [search_params(rng, departments) for _ in range(REQUESTS + WARM_UP)]

        def search(n: int, index: SearchIndex = index, searches: list[Any] = searches) -> None:
            with ctx.reading() as session:
                package_search(session, call=Call(site, index, "/"), data=searches[n])

        service.append(timed(REQUESTS, search))
    ctx.db.dispose()
    return {
        "index_build_ms": [round(b, 1) for b in builds],
        "service_p50_ms": [s["p50_ms"] for s in service],
        "service_p95_ms": [s["p95_ms"] for s in service],
    }


def _met(value: float, target: float) -> str:
    return f"target p95 < {target:.0f} ms ({'met' if value < target else 'NOT met'})"


def report(summary: dict[str, Any], runs: int) -> None:
    """Print the figures next to their targets and ceilings."""
    search, ceiling = summary["package_search"], summary["status_show"]
    rows, by_id = summary["datastore_search"], summary["datastore_by_id"]
    local = summary["package_search_service"]
    print(f"CKAN action API (SQLite, `cityloop serve`, one request at a time; medians of {runs})")
    print(
        f"  package_search q+fq+facets  p50 {search['p50_ms']:5.1f}  p95 {search['p95_ms']:5.1f} ms"
        f"  {_met(search['p95_ms'], TARGETS['package_search_p95_ms'])}"
        f"  ceiling status_show p95 {ceiling['p95_ms']:.1f} ms"
    )
    print(
        f"    in process, no HTTP       p50 {local['p50_ms']:5.1f}  p95 {local['p95_ms']:5.1f} ms"
        f"  (index built from scratch in {summary['index_build_ms']:.0f} ms)"
    )
    print(
        f"  datastore_search, 1M rows   p50 {rows['p50_ms']:5.1f}  p95 {rows['p95_ms']:5.1f} ms"
        f"  {_met(rows['p95_ms'], TARGETS['datastore_search_p95_ms'])}"
        f"  ceiling by _id p95 {by_id['p95_ms']:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="cityloop-ckan-") as folder:
        data_dir = Path(folder)
        db = Database(Settings(data_dir=data_dir).resolved_database_url)
        upgrade(db)
        with db.writing() as session:
            demo.seed_city(session)
        started = time.perf_counter()
        departments = seed_catalogue(db, datasets=args.datasets, rng=rng)
        seed_seconds = time.perf_counter() - started
        resource_id, rows_seconds = seed_big_table(db, rows=args.rows, rng=rng)
        db.dispose()
        print(
            f"seeded {args.datasets:,} open datasets in {seed_seconds:.1f} s and"
            f" {args.rows:,} DataStore rows in {rows_seconds:.1f} s"
        )
        local = in_process(data_dir, departments, args.runs)
        with Server(template=data_dir) as server:
            runs = [
                one_run(server.base_url, departments, resource_id, seed, args.rows)
                for seed in range(args.runs)
            ]

    def median(name: str, key: str) -> float:
        return round(statistics.median(run[name][key] for run in runs), 2)

    summary = {
        name: {key: median(name, key) for key in ("p50_ms", "p95_ms")}
        for name in ("package_search", "status_show", "datastore_search", "datastore_by_id")
    }
    summary["package_search_service"] = {
        "p50_ms": round(statistics.median(local["service_p50_ms"]), 2),
        "p95_ms": round(statistics.median(local["service_p95_ms"]), 2),
    }
    summary["index_build_ms"] = round(statistics.median(local["index_build_ms"]), 1)
    figures = {
        "datasets": args.datasets,
        "datastore_rows": args.rows,
        "requests_per_run": REQUESTS,
        "seed_seconds": {"catalogue": round(seed_seconds, 1), "rows": round(rows_seconds, 1)},
        "runs": runs,
        "in_process": local,
        "summary": summary,
        "targets": TARGETS,
    }
    report(summary, args.runs)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine_info(), **figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
