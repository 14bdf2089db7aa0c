"""The catalogue's typed events (see :mod:`cityloop.base.events`)."""

from __future__ import annotations

from typing import ClassVar

from cityloop.base.events import Event


class DatasetStale(Event):
    """A dataset's rows are older than its update frequency allows: its owner is told."""

    type: ClassVar[str] = "catalogue.dataset.stale"
    aggregate: ClassVar[str] = "dataset"
    aggregate_field: ClassVar[str] = "name"

    name: str
    owner_department: str
    age_seconds: int | None
    max_age_seconds: int | None
