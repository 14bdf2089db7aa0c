"""The SQL a test's code sends to the database: for tests that count round trips."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.support.city import City


@contextmanager
def statements_sent(city: City) -> Iterator[list[str]]:
    """The SQL of every statement sent to the city's database meanwhile."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(city.ctx.db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(city.ctx.db.engine, "before_cursor_execute", record)
