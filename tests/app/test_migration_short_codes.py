"""Migration 0027 gives every report filed before it a short tracking code, so every caller can
track by case number and code."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from cityloop.migrate import alembic_config

CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")


def test_reports_filed_before_the_migration_get_unique_codes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0024")
    with engine.begin() as connection:
        for n in range(1, 6):
            connection.execute(
                text(
                    "INSERT INTO reports (case_id, channel, is_origin, created_at, description, "
                    "lat, lon, media_ids, attributes, tracking_token) VALUES (:case, 'hotline', 1, "
                    "'2026-12-01 08:00:00', '', 30.25, 120.15, '[]', '{}', :token)"
                ),
                {"case": n, "token": f"token-{n}"},
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        codes = list(connection.scalars(text("SELECT short_code FROM reports")))
    engine.dispose()
    assert len(codes) == 5
    assert all(CODE.match(code) for code in codes), codes
    assert len(set(codes)) == 5
