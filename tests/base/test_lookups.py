"""A read-mostly lookup: built once per database, kept while its tables' fingerprint holds,
rebuilt when it changes, and dropped the moment a transaction that emitted one of its change
events commits in this process."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy.orm import Session

from cityloop.base.events import Event
from cityloop.base.lookups import Lookup
from cityloop.base.outbox import emit
from tests.support.city import City


class TableChanged(Event):
    type: ClassVar[str] = "test.lookup_table.changed"
    aggregate: ClassVar[str] = "table"
    aggregate_field: ClassVar[str] = "name"

    name: str


class OtherChanged(Event):
    type: ClassVar[str] = "test.lookup_other.changed"
    aggregate: ClassVar[str] = "table"
    aggregate_field: ClassVar[str] = "name"

    name: str


class Table:
    """A stand-in table: a fingerprint that changes when told to, and a count of builds."""

    def __init__(self) -> None:
        self.version = 1
        self.builds = 0

    def fingerprint(self, session: Session) -> int:
        return self.version

    def build(self, session: Session) -> str:
        self.builds += 1
        return f"index {self.version}"


def lookup(table: Table, recheck_seconds: float) -> Lookup[str]:
    return Lookup(
        fingerprint=table.fingerprint,
        build=table.build,
        invalidated_by=[TableChanged],
        recheck_seconds=recheck_seconds,
    )


def test_a_value_is_built_once_while_its_table_is_unchanged(city: City) -> None:
    table = Table()
    cache = lookup(table, recheck_seconds=0)
    with city.ctx.db.read() as session:
        assert cache.get(session) == cache.get(session) == "index 1"
    assert table.builds == 1


def test_a_changed_table_rebuilds_the_value_after_the_recheck(city: City) -> None:
    table = Table()
    cache = lookup(table, recheck_seconds=0)
    with city.ctx.db.read() as session:
        cache.get(session)
        table.version = 2
        assert cache.get(session) == "index 2"
    assert table.builds == 2


def test_within_the_recheck_window_the_cached_value_is_trusted(city: City) -> None:
    table = Table()
    cache = lookup(table, recheck_seconds=3600)
    with city.ctx.db.read() as session:
        cache.get(session)
        table.version = 2
        assert cache.get(session) == "index 1"
        assert cache.get(session, recheck=True) == "index 2"
        table.version = 3
        cache.forget()
        assert cache.get(session) == "index 3"


def test_a_committed_change_event_drops_the_value_at_once(city: City) -> None:
    table = Table()
    cache = lookup(table, recheck_seconds=3600)
    with city.ctx.db.read() as session:
        cache.get(session)
    table.version = 2
    with city.ctx.db.writing() as session:
        emit(session, TableChanged(name="t"))
        # Not committed yet: this transaction reads its own change, others the old value.
        assert cache.get(session) == "index 2"
        with city.ctx.db.read() as other:
            assert cache.get(other) == "index 1"
    with city.ctx.db.read() as session:
        assert cache.get(session) == "index 2"


def test_a_rolled_back_change_or_another_event_keeps_the_value(city: City) -> None:
    table = Table()
    cache = lookup(table, recheck_seconds=3600)
    with city.ctx.db.read() as session:
        cache.get(session)
    table.version = 2
    with city.ctx.db.writing() as session:
        emit(session, OtherChanged(name="t"))
    session = city.ctx.db.write()
    try:
        emit(session, TableChanged(name="t"))
        session.flush()
        session.rollback()
    finally:
        session.close()
    with city.ctx.db.read() as session:
        assert cache.get(session) == "index 1"
    assert table.builds == 1


def test_a_build_that_overlapped_a_change_is_not_kept(city: City) -> None:
    table = Table()
    cache: Lookup[str]

    def build(session: Session) -> str:
        value = table.build(session)
        if table.builds == 1:
            cache.forget()  # a change commits while this build reads
        return value

    cache = Lookup(fingerprint=table.fingerprint, build=build, recheck_seconds=3600)
    with city.ctx.db.read() as session:
        assert cache.get(session) == "index 1"
        assert cache.get(session) == "index 1"
    assert table.builds == 2
