"""Migration 0045: the history store's ids are 64-bit on every engine, up and down again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from cityloop.base.db import Database
from cityloop.migrate import alembic_config, upgrade
from tests.support.databases import BACKENDS, PG_URL, _pg_admin_url, _pg_execute

BEYOND_32_BITS = 2**31 + 7
INSERT = (
    "INSERT INTO measurements (tenant, entity_id, attribute, observed_at, num_value, dataset_id)"
    " VALUES ('', 'urn:x', 'speed', :t, 1.0, '')"
)


def downgrade(db: Database, revision: str) -> None:
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema yet, on each engine."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'ids.db'}")
        yield db
        db.dispose()
        return
    assert PG_URL
    name = f"cityloop_ids_{uuid.uuid4().hex[:10]}"
    _pg_execute(f"CREATE DATABASE {name}")
    db = Database(_pg_admin_url(name))
    try:
        yield db
    finally:
        db.dispose()
        _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def id_types(db: Database) -> tuple[str, str | None]:
    """The id column's type and (PostgreSQL) its sequence's, as the catalogue names them."""
    with db.engine.connect() as connection:
        if db.is_sqlite:
            columns = connection.execute(text("PRAGMA table_info(measurements)")).all()
            return next(c[2] for c in columns if c[1] == "id"), None
        column = connection.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'measurements' AND column_name = 'id' "
                "AND table_schema = current_schema()"
            )
        ).scalar_one()
        sequence = connection.execute(
            text(
                "SELECT data_type FROM information_schema.sequences "
                "WHERE sequence_name = 'measurements_id_seq'"
            )
        ).scalar_one()
        # Every monthly partition (migration 0043) follows its table.
        partitions = connection.execute(
            text(
                "SELECT DISTINCT data_type FROM information_schema.columns "
                "WHERE table_schema = 'measurement_partitions' AND column_name = 'id'"
            )
        ).scalars()
        assert list(partitions) == [column]
        return column, sequence


def add_reading(db: Database, second: int) -> int:
    with db.engine.begin() as connection:
        connection.execute(text(INSERT), {"t": f"2024-05-01 00:00:{second:02d}"})
        return int(connection.execute(text("SELECT max(id) FROM measurements")).scalar_one())


def jump_ids(db: Database) -> None:
    """The next id is past the 32-bit range."""
    with db.engine.begin() as connection:
        if db.is_sqlite:
            # A rowid goes on from the largest one held.
            connection.execute(
                text(
                    "INSERT INTO measurements (id, tenant, entity_id, attribute, observed_at,"
                    " dataset_id) VALUES (:id, '', 'urn:x', 'speed', '2024-05-01 00:01:00', '')"
                ),
                {"id": BEYOND_32_BITS - 1},
            )
        else:
            connection.execute(text(f"SELECT setval('measurements_id_seq', {BEYOND_32_BITS - 1})"))


def test_ids_pass_the_32_bit_range_after_0045_and_narrow_again_when_downgraded(
    empty: Database,
) -> None:
    upgrade(empty, "0044")
    first = add_reading(empty, 1)
    if not empty.is_sqlite:
        assert id_types(empty) == ("integer", "integer")
    upgrade(empty, "0045")
    assert id_types(empty) == (("INTEGER", None) if empty.is_sqlite else ("bigint", "bigint"))
    jump_ids(empty)
    assert add_reading(empty, 2) == BEYOND_32_BITS
    with empty.engine.connect() as connection:
        kept = connection.execute(text("SELECT id FROM measurements ORDER BY id")).scalars().all()
    assert kept[0] == first  # the rows before the migration keep their ids
    with empty.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM measurements WHERE id >= {BEYOND_32_BITS - 1}"))
        if not empty.is_sqlite:
            connection.execute(text(f"SELECT setval('measurements_id_seq', {first})"))
    downgrade(empty, "0044")
    if not empty.is_sqlite:
        assert id_types(empty) == ("integer", "integer")
    assert add_reading(empty, 3) == first + 1
