"""The jurisdiction and base-map indexes are base lookups: built once per database, kept while
their table's fingerprint holds (``tests/base/test_lookups.py`` tests the lookup itself)."""

from __future__ import annotations

from cityloop.base.lookups import Lookup
from cityloop.platforms.application.geo import basemap, service
from tests.support.city import City


def test_the_jurisdiction_and_base_map_indexes_share_the_cache(city: City) -> None:
    assert isinstance(service._indexes, Lookup)
    assert isinstance(basemap._indexes, Lookup)
    with city.ctx.db.read() as session:
        assert service.jurisdiction_index(session) is service.jurisdiction_index(session)
        assert basemap.base_map_index(session) is basemap.base_map_index(session)
