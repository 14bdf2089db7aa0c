"""From hotspots to cases (未诉先办): operations asks for a proactive task by an event, and this
bridge files it with governance's intake as a report on the inspector channel, then tells
operations which case it became. Idempotent: a task that already has its case is left alone."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.base.problems import Problem
from cityloop.bridges.messages import Message, both
from cityloop.domains.governance.intake import ReportInput, submit_report
from cityloop.domains.governance.workflow import Channel
from cityloop.domains.operations import hotspots
from cityloop.domains.operations.events import ProactiveTaskRequested
from cityloop.platforms.application.identity.service import SYSTEM

log = logging.getLogger(__name__)
CONSUMER = "operations.proactive-tasks"


def _description(task: ProactiveTaskRequested) -> Message:
    level = Message(f"bridges.level.{task.level}").texts()
    return Message(
        "bridges.proactive_task_description",
        {
            "cases": str(task.cases),
            "category": task.category,
            "level": level["en"],
            "level_zh": level["zh-CN"],
            "area": task.area,
            "month": task.month,
            "requested_by": task.requested_by,
        },
    )


def on_task_requested(session: Session, task: ProactiveTaskRequested) -> None:
    """Open the task's case at the hotspot's latest report, unless it already has one."""
    known = hotspots.task_of(session, task_id=task.task_id)
    if known is None or known.case_id is not None:
        return
    data = ReportInput(
        category=task.category,
        lat=task.lat,
        lon=task.lon,
        description=both(_description(task)),
        source_ref={"kind": "proactive_task", "task_id": task.task_id},
    )
    try:
        with session.begin_nested():
            result = submit_report(
                session, actor=SYSTEM, data=data, channel=Channel.INSPECTOR, allow_dedupe=False
            )
    except Problem as exc:
        # A retired category, say: no case, and retrying cannot help.
        log.warning("proactive task %s filed no case: %s", task.task_id, exc.detail)
        hotspots.link_task(
            session, task_id=task.task_id, case_id=None, error=exc.message or exc.detail
        )
        return
    hotspots.link_task(session, task_id=task.task_id, case_id=result.case.id)


def _handle(session: Session, delivered: DeliveredEvent) -> None:
    event = delivered.event
    if isinstance(event, ProactiveTaskRequested):
        on_task_requested(session, event)


def subscribe(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    consumers.subscribe(CONSUMER, [ProactiveTaskRequested], _handle)
