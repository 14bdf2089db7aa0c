"""The answer of the inbox routes: one notification as the citizen's phone shows it."""

from __future__ import annotations

from pydantic import Field

from cityloop.base.contracts import Answer, Timestamp
from cityloop.base.db import iso
from cityloop.base.messages import render_stored
from cityloop.platforms.application.notify import models


class Notification(Answer):
    id: int
    case_id: int | None
    kind: str
    message: str
    message_zh: str | None = Field(description="the line in Chinese, where it has a message code")
    created_at: Timestamp
    read: bool


def _chinese(n: models.Notification) -> str | None:
    if not n.message_code:
        return None
    return render_stored({"code": n.message_code, "params": n.message_params or {}}, "zh-CN")


def notification_out(n: models.Notification, locale: str = "en") -> Notification:
    """A notification for its reader: its line in ``locale`` where it has a message code."""
    coded = {"code": n.message_code, "params": n.message_params or {}}
    return Notification(
        id=n.id,
        case_id=n.case_id,
        kind=n.kind,
        message=(render_stored(coded, locale) if n.message_code else None) or n.message,
        message_zh=_chinese(n),
        created_at=iso(n.created_at),
        read=n.read_at is not None,
    )
