"""The test databases: a migrated, seeded template per engine, and a copy of it per module or
test.

SQLite always runs. PostgreSQL runs too when CITYLOOP_TEST_DATABASE_URL points at a server
(a maintenance database such as postgresql://postgres@127.0.0.1:5432/postgres); each copy is
then a database of its own, cloned from the template.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cityloop.base.db import Database
from cityloop.demo import seed
from cityloop.migrate import upgrade
from tests.support.hashing import cheap_password_hashes

PG_URL = os.environ.get("CITYLOOP_TEST_DATABASE_URL")
REQUIRE_SERVICES = os.environ.get("CITYLOOP_REQUIRE_SERVICES") == "1"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_admin_url(database: str) -> str:
    assert PG_URL
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{database}"


def _pg_execute(sql: str) -> None:
    import psycopg

    assert PG_URL
    with psycopg.connect(
        PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as conn:
        conn.execute(sql)


def _build(url: str) -> None:
    db = Database(url)
    upgrade(db)
    with cheap_password_hashes(), db.writing() as session:
        seed.seed_city(session)
        seed.seed_accounts(session)
    db.dispose()


class Clones:
    """Copies of one PostgreSQL template, each made one ahead of its use and dropped after it,
    in threads of their own: CREATE and DROP DATABASE take from a few tenths of a second to
    several on a busy server, and no test needs to wait for either."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._wanted: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._made: queue.SimpleQueue[str | BaseException] = queue.SimpleQueue()
        self._unwanted: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._failures: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._make, name="pg-clone-maker", daemon=True),
            threading.Thread(target=self._drop, name="pg-clone-dropper", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._wanted.put(True)  # the first copy, made while the first module starts

    def _make(self) -> None:
        while self._wanted.get():
            try:
                name = f"cityloop_t_{uuid.uuid4().hex[:10]}"
                _pg_execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
                self._made.put(name)
            except BaseException as exc:  # raised in the test that takes it
                self._made.put(exc)

    def _drop(self) -> None:
        while (name := self._unwanted.get()) is not None:
            try:
                _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except BaseException as exc:  # raised by close()
                self._failures.append(exc)

    def take(self) -> str:
        """A fresh copy of the template, nobody else's; the next one is made meanwhile."""
        self._wanted.put(True)
        made = self._made.get()
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, name: str) -> None:
        """Drop the copy ``name`` in the background."""
        self._unwanted.put(name)

    def close(self) -> None:
        """Drop every copy still standing, then stop the threads."""
        self._wanted.put(False)
        self._threads[0].join()
        while not self._made.empty():
            made = self._made.get()
            if isinstance(made, str):
                self._unwanted.put(made)
        self._unwanted.put(None)
        self._threads[1].join()
        if self._failures:
            raise self._failures[0]


# The clones of each PostgreSQL template of this process, by template name.
_clones: dict[str, Clones] = {}


@contextmanager
def built_templates(directory: Path) -> Iterator[dict[str, str]]:
    """The template of each engine in BACKENDS: backend -> SQLite file or PostgreSQL database
    name (dropped afterwards)."""
    built: dict[str, str] = {}
    sqlite_path = directory / "city.db"
    _build(f"sqlite:///{sqlite_path}")
    built["sqlite"] = str(sqlite_path)
    pg_template = None
    if PG_URL:
        pg_template = f"cityloop_tpl_{uuid.uuid4().hex[:8]}"
        _pg_execute(f"CREATE DATABASE {pg_template}")
        _build(_pg_admin_url(pg_template))
        built["postgresql"] = pg_template
        _clones[pg_template] = Clones(pg_template)
    try:
        yield built
    finally:
        if pg_template:
            try:
                _clones.pop(pg_template).close()
            finally:
                _pg_execute(f"DROP DATABASE IF EXISTS {pg_template} WITH (FORCE)")


@contextmanager
def seeded_database(templates: dict[str, str], backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated and seeded with the demo city and accounts; yields its
    URL (a copied SQLite file under ``tmp_path``, or a PostgreSQL database cloned from the
    template ahead of time and dropped afterwards, both in the background). Server processes
    take it as CITYLOOP_DATABASE_URL."""
    if backend == "sqlite":
        path = tmp_path / "city.db"
        shutil.copy(templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    clones = _clones[templates["postgresql"]]
    name = clones.take()
    try:
        yield _pg_admin_url(name)
    finally:
        clones.give_back(name)


def seeded_data_dir(templates: dict[str, str], data_dir: Path) -> Path:
    """``data_dir`` with a copy of the SQLite template as its database: migrated, with the demo
    city and accounts, as `cityloop seed --accounts` leaves it but for the built datasets. For
    tests of other commands, which need a seeded city, not the seeding (tested on its own)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(templates["sqlite"], data_dir / "cityloop.db")
    return data_dir


@contextmanager
def writes_blocked(url: str, table: str) -> Iterator[None]:
    """Hold writes off from another connection until the block exits: on SQLite the whole
    database (its single writer lock, taken with BEGIN IMMEDIATE), on PostgreSQL ``table``
    (an EXCLUSIVE table lock: reads go on, a writer waits at its first write to the table)."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def a_writer_is_waiting(db: Database) -> bool:
    """Whether a transaction on ``db`` is waiting for a lock another one holds: on PostgreSQL a
    backend of this database waiting on a lock; on SQLite a thread of this process waiting for
    the single writer (its innermost frame is the write lock's, waiting to take it)."""
    if db.is_sqlite:
        import sys

        from cityloop.base.write_lock import WriteLock

        held = WriteLock.held.__wrapped__.__code__  # type: ignore[attr-defined]
        codes = {held, WriteLock._take_files.__code__}
        return any(frame.f_code in codes for frame in sys._current_frames().values())
    from sqlalchemy import text

    with db.read() as session:
        waiting = session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)
