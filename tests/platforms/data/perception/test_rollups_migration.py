"""Migration 0041 rolls up the history stored before it, as a rebuild would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from cityloop.base.db import Database
from cityloop.migrate import upgrade
from cityloop.platforms.data.perception.models import MeasurementRollup


def test_upgrading_rolls_up_the_history_already_stored(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(db, "0040")
        start = datetime(2024, 5, 1, 23, 30, tzinfo=UTC)
        with db.writing() as session:
            for n in range(100):  # 50 minutes, across midnight
                moment = (start + timedelta(seconds=30 * n)).strftime("%Y-%m-%d %H:%M:%S.%f")
                session.execute(
                    text(
                        "INSERT INTO measurements (tenant, entity_id, attribute, observed_at,"
                        " num_value, dataset_id) VALUES ('', 'urn:x', 'speed', :t, :v, '')"
                    ),
                    {"t": moment, "v": float(n)},
                )
        upgrade(db)
        r = MeasurementRollup
        with db.read() as session:
            minutes = session.execute(
                select(func.count(), func.sum(r.count), func.min(r.bucket)).where(r.width == 60)
            ).one()
            hours = session.execute(
                select(r.bucket, r.count, r.sum, r.min, r.max)
                .where(r.width == 3600)
                .order_by(r.bucket)
            ).all()
    finally:
        db.dispose()
    assert tuple(minutes) == (50, 100, int(start.timestamp()))
    midnight = int(datetime(2024, 5, 2, tzinfo=UTC).timestamp())
    assert [tuple(h) for h in hours] == [
        (midnight - 3600, 60, float(sum(range(60))), 0.0, 59.0),
        (midnight, 40, float(sum(range(60, 100))), 60.0, 99.0),
    ]
