"""The outbound webhook queue's tables (names unchanged since they lived in notify)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


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
