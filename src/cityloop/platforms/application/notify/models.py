from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Notification(Base):
    """One message to one recipient: a citizen (by account or by report) or a staff user."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    source_event_id: Mapped[int] = mapped_column()  # the outbox event, for idempotency
    case_id: Mapped[int] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    report_id: Mapped[int | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(20), default="inbox")
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
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


class WebhookDelivery(Base):
    """One HTTP notification to one endpoint: the outbound webhook queue.

    Written in the caller's transaction, sent later by the dispatcher with no transaction open.
    A row is ``pending`` until it is ``delivered`` or ``failed``; a dispatcher that claims it
    holds a lease (``lease_until``) so a crashed process's rows become due again."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    endpoint: Mapped[str] = mapped_column(String(2000))
    # scheme://host:port: the unit of isolation (own concurrency limit and circuit).
    origin: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(80))
    source_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_webhook_deliveries_order", "endpoint", "source_id", "status", "id"),
        Index("ix_webhook_deliveries_finished", "status", "finished_at"),
    )


class WebhookSourceStats(Base):
    """Delivery history of one source (e.g. one NGSI-LD subscription), kept after its delivered
    rows are pruned: what NGSI-LD shows as timesSent, lastNotification, lastSuccess, lastFailure."""

    __tablename__ = "webhook_source_stats"

    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    times_sent: Mapped[int] = mapped_column(default=0)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_notification_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)
