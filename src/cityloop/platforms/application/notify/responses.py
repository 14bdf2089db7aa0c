"""The answer of the inbox routes: one notification as the citizen's phone shows it."""

from __future__ import annotations

from cityloop.base.contracts import Answer, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.notify import models


class Notification(Answer):
    id: int
    case_id: int | None
    kind: str
    message: str
    created_at: Timestamp
    read: bool


def notification_out(n: models.Notification) -> Notification:
    return Notification(
        id=n.id,
        case_id=n.case_id,
        kind=n.kind,
        message=n.message,
        created_at=iso(n.created_at),
        read=n.read_at is not None,
    )
