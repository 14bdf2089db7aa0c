"""The one cache behind the jurisdiction and base-map indexes: built once per database, kept
while the table's fingerprint holds, rebuilt when it changes, dropped on request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.platforms.application.geo import basemap, service
from cityloop.platforms.application.geo.cache import IndexCache
from tests.support.city import City


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


def test_an_index_is_built_once_while_its_table_is_unchanged(city: City) -> None:
    table = Table()
    cache = IndexCache(fingerprint=table.fingerprint, build=table.build, recheck_seconds=0)
    with city.ctx.db.read() as session:
        assert cache.get(session) == cache.get(session) == "index 1"
    assert table.builds == 1


def test_a_changed_table_rebuilds_the_index_after_the_recheck(city: City) -> None:
    table = Table()
    cache = IndexCache(fingerprint=table.fingerprint, build=table.build, recheck_seconds=0)
    with city.ctx.db.read() as session:
        cache.get(session)
        table.version = 2
        assert cache.get(session) == "index 2"
    assert table.builds == 2


def test_within_the_recheck_window_the_cached_index_is_trusted(city: City) -> None:
    table = Table()
    cache = IndexCache(fingerprint=table.fingerprint, build=table.build, recheck_seconds=3600)
    with city.ctx.db.read() as session:
        cache.get(session)
        table.version = 2
        assert cache.get(session) == "index 1"
        cache.forget()
        assert cache.get(session) == "index 2"


def test_the_jurisdiction_and_base_map_indexes_share_the_cache(city: City) -> None:
    assert isinstance(service._indexes, IndexCache)
    assert isinstance(basemap._indexes, IndexCache)
    with city.ctx.db.read() as session:
        assert service.jurisdiction_index(session) is service.jurisdiction_index(session)
        assert basemap.base_map_index(session) is basemap.base_map_index(session)
