"""The SQLite engine's transaction rules: writers take the lock at BEGIN, and a connection
asked for autocommit opens no transaction at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cityloop.base.db import make_engine


def test_an_autocommit_connection_can_checkpoint_the_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE t"))  # a read first, as after a bulk load
            busy, _, _ = connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        assert busy == 0  # inside a transaction SQLite refuses with "database table is locked"
    finally:
        engine.dispose()


def test_a_write_connection_holds_the_write_lock_from_its_begin(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect().execution_options(cityloop_write=True) as writer:
            writer.execute(text("SELECT 1"))  # only BEGIN IMMEDIATE takes the lock this early
            with engine.connect() as other:
                other.exec_driver_sql("PRAGMA busy_timeout=0")
                with pytest.raises(OperationalError, match="database is locked"):
                    other.execute(text("INSERT INTO t VALUES (2)"))
            writer.rollback()
    finally:
        engine.dispose()
