"""Built-in datasets: a package that owns data declares a producer, and the platform builds,
publishes and checks the dataset from it.

A domain registers its producers in its ``module.py`` setup (``register(ctx, producer)``); the
platform knows none of them by name. A producer of an open dataset drawn from people's reports
yields :class:`~cityloop.platforms.data.catalogue.deidentify.PointRecord` values instead of
rows, so the platform, not the producer, decides what of them is published (deidentify.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from cityloop.base.events import Event
from cityloop.base.outbox import DeliveredEvent
from cityloop.platforms.data.catalogue.models import Dataset

if TYPE_CHECKING:
    from cityloop.base.context import AppContext
    from cityloop.settings import Settings

Sensitivity = Literal["open", "shared", "personal"]
SENSITIVITIES: tuple[str, ...] = ("open", "shared", "personal")
_REGISTRY = "catalogue.producers"


@dataclass(frozen=True)
class DatasetSpec:
    """What a producer declares about its dataset: the catalogue entry it starts from."""

    name: str
    owner_department: str
    title: str
    title_zh: str
    description: str
    description_zh: str
    theme: str
    frequency: str
    sensitivity: Sensitivity
    table_schema: dict[str, Any]
    keywords: tuple[str, ...] = ()
    licence: str = "CC-BY-4.0"
    spatial: str = ""
    # Change events that make the dataset out of date: a consumer marks it for rebuilding.
    triggers: tuple[type[Event], ...] = ()
    # "rows" yields dicts of the schema's fields; "points" yields PointRecords to de-identify
    # (points_to_cases) and "cells" yields them to count per (category, grid cell, day).
    shape: Literal["rows", "points", "cells"] = "rows"


class Producer(Protocol):
    """A built-in dataset: its declaration and its rows, read in the caller's session."""

    spec: DatasetSpec

    def rows(self, session: Session, *, settings: Settings) -> Iterable[Any]: ...


@dataclass(frozen=True)
class FunctionProducer:
    """A producer made of a declaration and a function."""

    spec: DatasetSpec
    produce: Any = field(repr=False)

    def rows(self, session: Session, *, settings: Settings) -> Iterable[Any]:
        """The rows (or point records) of the dataset now."""
        return self.produce(session, settings=settings)  # type: ignore[no-any-return]


def register(ctx: AppContext, producer: Producer) -> None:
    """Make a built-in dataset known to this app, rebuilt after any of its trigger events; a
    second producer of one name is an error."""
    producers: dict[str, Producer] = ctx.extras.setdefault(_REGISTRY, {})
    name = producer.spec.name
    if name in producers and producers[name] is not producer:
        raise ValueError(f"two producers declare the dataset {name!r}")
    if producer.spec.sensitivity not in SENSITIVITIES:
        raise ValueError(f"dataset {name!r}: sensitivity must be one of {SENSITIVITIES}")
    producers[name] = producer
    if producer.spec.triggers:
        ctx.consumers.subscribe_batch(f"dataset:{name}", producer.spec.triggers, _marks_dirty(name))


def _marks_dirty(name: str) -> Any:
    # Cheap on purpose: the consumer only marks, once per batch; the refresh job rebuilds once
    # for many events.
    def handler(session: Session, batch: list[DeliveredEvent]) -> None:
        session.execute(update(Dataset).where(Dataset.name == name).values(dirty=True))

    return handler


def registered(ctx: AppContext) -> dict[str, Producer]:
    """This app's producers by dataset name."""
    return dict(ctx.extras.get(_REGISTRY, {}))
