from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Notification(Base):
    """One message to one recipient: a citizen (by account or by report) or a staff user. A
    message about no case (a phone verification code) has no ``case_id``."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # The outbox event, for idempotency; none for a message sent in the request that caused it.
    source_event_id: Mapped[int | None] = mapped_column()
    case_id: Mapped[int | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    report_id: Mapped[int | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(20), default="inbox")
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    # The line as a message code and its parameters (base.messages), so each reader gets it in
    # their language; rows written before codes existed have only ``message``.
    message_code: Mapped[str | None] = mapped_column(String(80), default=None)
    message_params: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Outbound channels (e-mail): where it goes and whether it went. The row is the send queue,
    # so nothing is sent while a database transaction is open.
    address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))

    __table_args__ = (
        UniqueConstraint(
            "source_event_id", "channel", "report_id", "user_id", name="uq_notification_once"
        ),
        Index("ix_notifications_outbound", "channel", "sent_at", "id"),
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_report", "report_id", "id"),
    )
