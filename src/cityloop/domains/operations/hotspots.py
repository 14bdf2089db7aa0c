"""Hotspots (每月一题): the categories that recur in one area in one month, and turning one into
a proactive task (未诉先办).

A hotspot is (month, street or grid, category) with at least ``threshold`` cases reported that
month (rejected and merged reports aside: they are not separate problems). Operations does not
open cases: it records the task and emits ``ProactiveTaskRequested``; a bridge files the case
with governance's intake on the inspector channel and links it back (:func:`link_task`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cityloop.base.messages import render_stored
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict, forbidden
from cityloop.domains.operations.cuts import Period, month_period, scoped, within_scope
from cityloop.domains.operations.events import ProactiveTaskRequested
from cityloop.domains.operations.kpis import ENDED
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import CaseFactRow, ProactiveTask
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES
from cityloop.platforms.application.identity.service import Actor

LEVELS = ("street", "grid")
DEFAULT_THRESHOLD = 5
MAX_HOTSPOTS = 200


def _level(level: str) -> str:
    if level not in LEVELS:
        raise bad_request(Message("operations.hotspot_level"), field="level")
    return level


def hotspots(
    session: Session,
    *,
    actor: Actor,
    month: str,
    level: str,
    threshold: int = DEFAULT_THRESHOLD,
    filters: dict[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Areas and categories with at least ``threshold`` cases in the month, most first."""
    if threshold < 2:
        raise bad_request(Message("operations.hotspot_threshold"), field="threshold")
    period = month_period(month)
    chosen = scoped(actor, filters or {})
    found = recurring(session, period=period, level=level, threshold=threshold, filters=chosen)
    tasks = {
        (t.area, t.category): t
        for t in session.scalars(
            select(ProactiveTask).where(ProactiveTask.month == month, ProactiveTask.level == level)
        )
    }
    answer = []
    for district, code, category, cases in found:
        task = tasks.get((code, category))
        answer.append(
            {
                "month": month,
                "level": level,
                "district": district,
                "area": code,
                "category": category,
                "cases": int(cases),
                "task_id": task.id if task else None,
                "task_case_id": task.case_id if task else None,
            }
        )
    return answer


def recurring(
    session: Session, *, period: Period, level: str, threshold: int, filters: dict[str, str]
) -> list[tuple[str, str, str, int]]:
    """(district, area, category, cases) reported at least ``threshold`` times in the period,
    most first: the hotspots' query, for the operations centre and the public report alike."""
    area = getattr(CaseFactRow, _level(level))
    f = CaseFactRow
    count = func.count().label("cases")
    query = (
        select(f.district, area, f.category, count)
        .where(
            f.created_at >= period.start,
            f.created_at < period.end,
            f.status.not_in(ENDED),
            area.is_not(None),
            *[getattr(f, k) == v for k, v in filters.items()],
        )
        .group_by(f.district, area, f.category)
        .having(func.count() >= threshold)
        .order_by(count.desc(), area, f.category)
        .limit(MAX_HOTSPOTS)
    )
    return [(d, a, c, int(n)) for d, a, c, n in session.execute(query)]


def request_task(
    session: Session, *, actor: Actor, month: str, level: str, area: str, category: str
) -> ProactiveTask:
    """Turn a hotspot into a proactive task: recorded, audited, and handed to governance by an
    event. Supervisors, dispatchers and admins only, within their scope; once per hotspot."""
    if actor.role not in CITY_WIDE_ROLES:
        raise forbidden(Message("operations.task_requesters"))
    column = getattr(CaseFactRow, _level(level))
    period = month_period(month)
    f = CaseFactRow
    latest = session.execute(
        select(f.district, f.lat, f.lon, func.count().over())
        .where(
            and_(f.created_at >= period.start, f.created_at < period.end),
            f.status.not_in(ENDED),
            column == area,
            f.category == category,
        )
        .order_by(f.created_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        raise bad_request(
            Message(
                "operations.no_hotspot_case", {"category": category, "area": area, "month": month}
            ),
            field="area",
        )
    district, lat, lon, cases = latest
    if not within_scope(actor, district=district):
        raise forbidden(Message("operations.outside_scope"))
    known = session.scalar(
        select(ProactiveTask).where(
            ProactiveTask.month == month,
            ProactiveTask.level == level,
            ProactiveTask.area == area,
            ProactiveTask.category == category,
        )
    )
    if known is not None:
        raise conflict(
            Message("operations.task_exists"), type_="already-requested", task_id=known.id
        )
    task = ProactiveTask(
        month=month,
        level=level,
        district=district,
        area=area,
        category=category,
        cases=int(cases),
        requested_by=actor.username,
    )
    session.add(task)
    session.flush()
    identity.audit(
        session,
        actor=actor,
        action="operations.proactive_task",
        target=f"hotspot:{month}:{level}:{area}:{category}",
        detail={"task_id": task.id, "cases": int(cases)},
    )
    emit(
        session,
        ProactiveTaskRequested(
            task_id=task.id,
            month=month,
            level=level,
            area=area,
            category=category,
            cases=int(cases),
            lat=float(lat),
            lon=float(lon),
            requested_by=actor.username,
        ),
    )
    return task


def link_task(
    session: Session, *, task_id: int, case_id: int | None, error: Message | str | None = None
) -> bool:
    """Record the case opened for a task (or why none was); False when it already had one."""
    task = session.get(ProactiveTask, task_id)
    if task is None or task.case_id is not None:
        return False
    # A message is kept as its code and parameters, so each reader sees it in their language.
    stored = (
        json.dumps(error.as_dict(), ensure_ascii=False) if isinstance(error, Message) else error
    )
    task.case_id, task.error = case_id, stored
    return True


def task_error(task: ProactiveTask, locale: str) -> str | None:
    """Why no case was filed for a task, in ``locale`` (None while there is no such reason)."""
    if task.error is None:
        return None
    try:
        stored = json.loads(task.error)
    except ValueError:
        return task.error  # a plain text reads the same in every language
    return render_stored(stored, locale) or task.error


def task_of(session: Session, *, task_id: int) -> ProactiveTask | None:
    """One proactive task."""
    return session.get(ProactiveTask, task_id)


def tasks(session: Session, *, actor: Actor, month: str | None = None) -> list[ProactiveTask]:
    """The proactive tasks (of a month), newest first, as ``actor`` may see them."""
    scope = scoped(actor, {})
    query = select(ProactiveTask).order_by(ProactiveTask.id.desc()).limit(500)
    if "district" in scope:
        query = query.where(ProactiveTask.district == scope["district"])
    if month:
        month_period(month)
        query = query.where(ProactiveTask.month == month)
    return list(session.scalars(query))
