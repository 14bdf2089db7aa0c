"""How a package declares what it brings to the assembled platform.

Each package (a platform, a domain, a bridge) has a ``module.py`` holding one :class:`Module`:
its tables, routers, event consumers, scheduled jobs, background services, CLI commands and
request body limits.
``cityloop.modules`` lists the packages; ``app.py``, ``cli.py`` and ``models.py`` loop over them
and name none. Adding a domain means writing its ``module.py`` and adding one line to that list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter, FastAPI

    from cityloop.base.context import AppContext
    from cityloop.base.limits import BodyLimit
    from cityloop.base.outbox import ConsumerRegistry
    from cityloop.settings import Settings


class Service(Protocol):
    """A background worker the app starts with its lifespan and stops after it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ScheduledJob:
    """A periodic job: ``every`` reads its interval from the settings; ``when`` can turn it off."""

    name: str
    every: Callable[[Settings], float]
    run: Callable[[AppContext], object]
    when: Callable[[Settings], bool] = lambda settings: True


@dataclass(frozen=True)
class Module:
    """What one package contributes. Every field is optional but the name."""

    name: str
    models: Sequence[type] = ()
    routers: Sequence[APIRouter] = ()
    # For protocols with their own error format and paths (Open311, NGSI-LD): given the app.
    mounts: Sequence[Callable[[FastAPI], None]] = ()
    consumers: Sequence[Callable[[ConsumerRegistry, AppContext], None]] = ()
    jobs: Sequence[ScheduledJob] = ()
    # Run once the context exists: may build services (returned to be started and stopped in
    # the lifespan, under the name given) or keep helpers in ``ctx.extras``.
    setup: Sequence[Callable[[AppContext], dict[str, Service] | None]] = ()
    commands: Sequence[Callable[[typer.Typer], None]] = ()
    # Routes whose bodies may be larger (or must be smaller) than CITYLOOP_MAX_BODY_BYTES.
    body_limits: Sequence[BodyLimit] = ()
