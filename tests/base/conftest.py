"""Fixtures shared by the base's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cityloop.base.db import Database
from tests.support.databases import BACKENDS, seeded_database


@pytest.fixture(params=BACKENDS)
def db(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[Database]:
    """A seeded database on each engine, its writes grouped on both (PostgreSQL writes alone by
    default), so the group commit's behaviour is tested on each."""
    with seeded_database(templates, request.param, tmp_path) as url:
        database = Database(url, group_commit=True)
        try:
            yield database
        finally:
            database.dispose()
