"""Database engine, declarative base and session helpers.

SQLite (WAL, foreign keys on) is the embedded default; PostgreSQL is the scale-out engine.
Both go through the same models and migrations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from cityloop.base.group_commit import GroupCommitter
from cityloop.base.write_lock import WriteLock, sqlite_file, write_lock_for

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601, or None."""
    return value.isoformat() if value is not None else None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # As many connections as the server's worker threads (40), so a busy moment never
            # pays for opening a new SQLite connection.
            pool_size=40,
            max_overflow=10,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Take over transaction control so BEGIN IMMEDIATE can be issued: writers queue on
            # the lock up front instead of failing with "database is locked" on upgrade.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the lock at BEGIN: a deferred transaction that reads and then writes
            # fails at once (SQLITE_BUSY_SNAPSHOT) when another writer got in between.
            options = conn.get_execution_options()
            if options.get("isolation_level") == "AUTOCOMMIT":
                return  # asked for no transaction (e.g. a WAL checkpoint, which refuses one)
            if options.get("cityloop_write", False):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine plus two session factories: one for units of work that write, one for reads."""

    WRITE_WAIT_SECONDS = 30.0

    def __init__(
        self, url: str, *, group_commit: bool | None = None, process_lock: bool = True
    ) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        write_engine = self.engine.execution_options(cityloop_write=True)
        self.write = sessionmaker(write_engine, expire_on_commit=False)
        self.read = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Queueing the writers on a lock, this process's threads
        # and (``process_lock``) the other processes on the file, hands the database over the
        # moment it is free; SQLite's own busy handler sleeps in growing steps (up to 100 ms),
        # which wastes throughput and stretches the latency tail under load.
        self._write_lock: WriteLock | None = None
        if self.is_sqlite:
            database = sqlite_file(self.engine.url.database) if process_lock else None
            self._write_lock = write_lock_for(database) if database is not None else WriteLock()
        # Group commit pays where there is one writer; PostgreSQL's writers run side by side.
        grouped = self.is_sqlite if group_commit is None else group_commit
        self._group = GroupCommitter(self.writing) if grouped else None

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A unit of work that writes: commits on success, rolls back on any error."""
        if self._write_lock is None:
            with self.write() as session, session.begin():
                yield session
            return
        with (
            self._write_lock.held(timeout=self.WRITE_WAIT_SECONDS),
            self.write() as session,
            session.begin(),
        ):
            yield session

    def write_grouped(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` as a unit of work that writes, committed together with the units queued
        beside it (:mod:`cityloop.base.group_commit`) or alone; returns what it returns."""
        if self._group is None:
            with self.writing() as session:
                return work(session)
        return self._group.run(work)

    def write_grouped_each(self, works: Sequence[Callable[[Session], T]]) -> list[T | Exception]:
        """Run each work as a unit of work of its own, all queued at once where commits are
        grouped (one after the other where not); answer each one's result or its error."""
        if self._group is not None:
            return self._group.run_each(works)
        answers: list[T | Exception] = []
        for work in works:
            try:
                answers.append(self.write_grouped(work))
            except Exception as exc:  # this unit's failure is its answer; the others go on
                answers.append(exc)
        return answers

    def dispose(self) -> None:
        if self._group is not None:
            self._group.stop()
        self.engine.dispose()
