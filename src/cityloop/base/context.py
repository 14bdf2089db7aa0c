"""What every request and worker shares: settings, database, storage, events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from cityloop.base.db import Database
from cityloop.base.outbound import Outbound
from cityloop.base.outbox import ConsumerRegistry, EventRelay
from cityloop.base.ratelimit import RateLimiter
from cityloop.base.storage import Storage
from cityloop.settings import Settings

T = TypeVar("T")


@dataclass
class AppContext:
    settings: Settings
    db: Database
    storage: Storage
    consumers: ConsumerRegistry
    relay: EventRelay
    rate_limiter: RateLimiter
    # Every request a user's input can aim leaves through this (the address policy).
    outbound: Outbound
    extras: dict[str, Any] = field(default_factory=dict)
    # Names in ``extras`` of the background services the lifespan starts and stops.
    services: list[str] = field(default_factory=list)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A unit of work that commits on success and rolls back on any error."""
        with self.db.writing() as session:
            yield session

    def write_grouped(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` as a unit of work that writes, in a group commit where the engine has
        one writer; returns what it returns."""
        return self.db.write_grouped(work)

    def write_grouped_each(self, works: Sequence[Callable[[Session], T]]) -> list[T | Exception]:
        """Run each work as a unit of work of its own, queued together; answer each one's result
        or the error it raised, in order."""
        return self.db.write_grouped_each(works)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self.db.read() as session:
            yield session


def context_of(request: Request) -> AppContext:
    """The context of the app serving ``request``."""
    return request.app.state.ctx  # type: ignore[no-any-return]


async def get_context(request: Request) -> AppContext:
    """The context as a route dependency (``Depends(get_context)``): async, because FastAPI
    sends a plain function dependency through the thread pool, a thread hop per request for an
    attribute lookup."""
    return context_of(request)
