"""The freshness check: every dataset against its update frequency, on a schedule. A dataset
that has just gone stale is flagged and its owner department's staff are told, once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.db import utcnow
from cityloop.base.messages import Message, register
from cityloop.base.outbox import DeliveredEvent, emit
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.notify import service as notify
from cityloop.platforms.data.catalogue import quality
from cityloop.platforms.data.catalogue.events import DatasetStale
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.permissions import MANAGERS

register(
    {
        "dataset.stale": (
            "Dataset {title} is out of date: last built {age}, it should be at most {limit} old",
            "数据集“{title_zh}”已过期：上次更新于 {age_zh}，更新周期要求不超过 {limit_zh}",
        ),
    }
)


def check(session: Session) -> list[str]:
    """Flag every dataset whose rows are older than its frequency allows; the newly stale."""
    now = utcnow()
    newly = []
    for dataset in session.scalars(select(Dataset).where(Dataset.active)):
        fresh = quality.freshness(dataset, now)
        stale = bool(fresh["stale"])
        dataset.quality = {**dataset.quality, **fresh}
        if stale and not dataset.stale:
            newly.append(dataset.name)
            emit(
                session,
                DatasetStale(
                    name=dataset.name,
                    owner_department=dataset.owner_department,
                    age_seconds=fresh["age_seconds"],
                    max_age_seconds=fresh["max_age_seconds"],
                ),
            )
        dataset.stale = stale
    return newly


def check_all(ctx: AppContext) -> list[str]:
    """The scheduled freshness check."""
    with ctx.writing() as session:
        return check(session)


def _span(seconds: int | None, chinese: bool) -> str:
    if seconds is None:
        return "从未" if chinese else "never"
    hours = seconds / 3600
    if hours < 48:
        return f"{hours:.0f} 小时" if chinese else f"{hours:.0f} hours"
    return f"{hours / 24:.0f} 天" if chinese else f"{hours / 24:.0f} days"


def on_dataset_stale(session: Session, event: DeliveredEvent) -> None:
    """Tell the owner department's staff that their dataset is out of date (once per event)."""
    if notify.already_sent(session, event_id=event.id):
        return
    stale = event.event
    assert isinstance(stale, DatasetStale)
    dataset = session.scalar(select(Dataset).where(Dataset.name == stale.name))
    if dataset is None:
        return
    age = "never" if stale.age_seconds is None else f"{_span(stale.age_seconds, False)} ago"
    age_zh = "从未" if stale.age_seconds is None else f"{_span(stale.age_seconds, True)}前"
    coded = Message(
        "dataset.stale",
        {
            "title": dataset.title, "title_zh": dataset.title_zh, "age": age, "age_zh": age_zh,
            "limit": _span(stale.max_age_seconds, False),
            "limit_zh": _span(stale.max_age_seconds, True),
        },
    )  # fmt: skip
    for role in sorted(MANAGERS):
        for user in identity.users_with_role(
            session, role=role, department_code=stale.owner_department
        ):
            notify.queue(
                session, source_event_id=event.id, user_id=user.id, kind="dataset.stale",
                message=coded.render("en"), coded=coded,
            )  # fmt: skip
