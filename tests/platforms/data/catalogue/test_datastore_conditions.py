"""A condition built on one description of a dataset's table (``table_for`` makes a new one on
each call) narrows a search of the same table rather than joining the table to itself."""

from __future__ import annotations

from sqlalchemy import and_

from cityloop.platforms.data.catalogue import datastore
from cityloop.platforms.data.catalogue.service import get_dataset
from tests.support.catalogue import publish, spec
from tests.support.city import City

STOPS = spec(
    "test-bus-stops",
    fields=[{"name": "code", "type": "string"}, {"name": "district", "type": "string"},
            {"name": "shelters", "type": "integer"}],
)  # fmt: skip
ROWS = [
    {"code": "S1", "district": "RV01", "shelters": 1},
    {"code": "S2", "district": "RV01", "shelters": 0},
    {"code": "S3", "district": "RV02", "shelters": 2},
]


def test_a_where_condition_from_table_for_narrows_search_and_iteration(city: City) -> None:
    publish(city, STOPS, ROWS)
    with city.ctx.db.read() as session:
        dataset = get_dataset(session, name=STOPS.name)
        table = datastore.table_for(dataset.id, dataset.table_schema)
        where = and_(
            datastore.condition(table, "district", "RV01"),
            datastore.condition(table, "shelters", [1, 2]),
        )
        found = datastore.search(
            session, dataset_id=dataset.id, schema=dataset.table_schema, where=where
        )
        assert found.total == 1 and [r["code"] for r in found.records] == ["S1"]
        streamed = datastore.iter_rows(
            session, dataset_id=dataset.id, schema=dataset.table_schema, where=where
        )
        assert [r["code"] for r in streamed] == ["S1"]
