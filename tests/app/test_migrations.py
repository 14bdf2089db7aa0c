"""The migrations build exactly the schema the models describe, on every engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cityloop.models import Base
from tests.support.city import City


def test_the_migrated_schema_matches_the_models(city: City) -> None:
    with city.ctx.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
