"""The events the operations domain emits. Payloads carry codes and ids, never personal data."""

from __future__ import annotations

from typing import ClassVar

from cityloop.base.events import Event


class ProactiveTaskRequested(Event):
    """A supervisor turned a hotspot into a proactive task (未诉先办): a case should be opened
    on the inspector channel at ``lat``/``lon``. Governance's intake does that, through a bridge."""

    type: ClassVar[str] = "operations.proactive_task_requested"
    aggregate: ClassVar[str] = "proactive_task"
    aggregate_field: ClassVar[str] = "task_id"

    task_id: int
    month: str
    level: str
    area: str
    category: str
    cases: int
    lat: float
    lon: float
    requested_by: str
