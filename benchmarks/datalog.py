"""The access log's hash chain, for `make bench`: appending entries and verifying the chain.

- **Append** `record_access` in transactions of 100 entries on the embedded SQLite database
  (each entry numbered and chained under the locked head row, then written with the
  transaction). Target ≥ 5,000 entries/s. Ceiling: the same rows inserted with no chain, in the
  same transactions.
- **Verify** `chain.verify` over every entry (read in batches, hashed, linked). Target ≥ 100,000
  entries/s. Ceiling: SHA-256 over the same entries' content, with no database read.

Run: .venv/bin/python benchmarks/datalog.py [--entries 20000]
Writes benchmarks/results/datalog.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import select  # noqa: E402

from cityloop.base.db import Database  # noqa: E402
from cityloop.platforms.application.identity.models import User  # noqa: E402
from cityloop.platforms.data.access import chain  # noqa: E402
from cityloop.platforms.data.access.models import DataAccess  # noqa: E402
from cityloop.platforms.data.access.service import record_access  # noqa: E402
from cityloop.settings import Settings  # noqa: E402
from harness import machine_info, seed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "datalog.json"
BATCH = 100
TARGETS = {"append": 5000.0, "verify": 100_000.0}


def entry_args(n: int, user_id: int) -> dict[str, Any]:
    return {
        "user_id": user_id, "actor": f"clerk-{n % 7}", "actor_role": "clerk",
        "fields": ["legal_name", "id_number"], "purpose": "counter_verification",
        "reference": f"bench:{n}",
    }  # fmt: skip


def run(entries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cityloop-datalog-") as folder:
        data_dir = Path(folder)
        seed(data_dir)
        db = Database(Settings(data_dir=data_dir).resolved_database_url)
        with db.read() as session:
            user_id = session.scalar(select(User.id).where(User.username == "citizen"))
        assert user_id is not None
        started = time.perf_counter()
        for first in range(0, entries, BATCH):
            with db.writing() as session:
                for n in range(first, min(first + BATCH, entries)):
                    record_access(session, **entry_args(n, user_id))
        append = entries / (time.perf_counter() - started)
        started = time.perf_counter()
        for first in range(0, entries, BATCH):
            with db.writing() as session:
                for n in range(first, min(first + BATCH, entries)):
                    session.add(DataAccess(**entry_args(n, user_id), legal_basis="statutory"))
        insert_ceiling = entries / (time.perf_counter() - started)
        # The plain rows above have no hashes: take them out so the chain is whole again.
        with db.writing() as session:
            session.query(DataAccess).filter(DataAccess.entry_hash == "").delete()
        started = time.perf_counter()
        with db.read() as session:
            report = chain.verify(session)
        verify = report.entries / (time.perf_counter() - started)
        assert report.intact, report
        with db.read() as session:
            contents = [chain.content(row) for row in session.scalars(select(DataAccess))]
        started = time.perf_counter()
        previous = chain.GENESIS
        for body in contents:
            previous = hashlib.sha256(previous.encode() + b"\n" + body).hexdigest()
        hash_ceiling = len(contents) / (time.perf_counter() - started)
        db.dispose()
    return {
        "entries": entries,
        "append_per_s": round(append, 1),
        "append_ceiling_plain_insert_per_s": round(insert_ceiling, 1),
        "verify_per_s": round(verify, 1),
        "verify_ceiling_sha256_per_s": round(hash_ceiling, 1),
        "targets": TARGETS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args(argv)
    figures = run(args.entries)
    append, verify = figures["append_per_s"], figures["verify_per_s"]
    print(f"access log hash chain ({figures['entries']:,} entries, SQLite, one process)")
    print(
        f"  append    {append:10,.0f}/s  target >= {TARGETS['append']:,.0f}/s"
        f" ({'met' if append >= TARGETS['append'] else 'NOT met'})"
        f"  ceiling: plain insert {figures['append_ceiling_plain_insert_per_s']:,.0f}/s"
        f" = {append / figures['append_ceiling_plain_insert_per_s']:.2f} x"
    )
    print(
        f"  verify    {verify:10,.0f}/s  target >= {TARGETS['verify']:,.0f}/s"
        f" ({'met' if verify >= TARGETS['verify'] else 'NOT met'})"
        f"  ceiling: SHA-256 alone {figures['verify_ceiling_sha256_per_s']:,.0f}/s"
        f" = {verify / figures['verify_ceiling_sha256_per_s']:.2f} x"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine_info(), **figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
