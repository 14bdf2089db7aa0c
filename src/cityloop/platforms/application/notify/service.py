"""Notifications: an inbox per person and queued e-mails, written in the transaction of the
event that caused them (so each event notifies once) and sent later, outside any transaction.
Domains decide who hears what; this platform stores and delivers."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityloop.base.db import Database, utcnow
from cityloop.base.messages import Message
from cityloop.platforms.application.notify.channels import Channel
from cityloop.platforms.application.notify.models import Notification

log = logging.getLogger(__name__)
MAX_SEND_ATTEMPTS = 10


def already_sent(session: Session, *, event_id: int) -> bool:
    """Whether this outbox event has notified anyone yet (consumers are idempotent)."""
    return (
        session.scalar(
            select(Notification.id).where(Notification.source_event_id == event_id).limit(1)
        )
        is not None
    )


def sent_events(session: Session, *, event_ids: list[int]) -> set[int]:
    """Which of these outbox events have notified anyone yet: :func:`already_sent` for a batch."""
    if not event_ids:
        return set()
    return set(
        session.scalars(
            select(Notification.source_event_id)
            .where(Notification.source_event_id.in_(event_ids))
            .distinct()
        )
    )


def queue(
    session: Session,
    *,
    source_event_id: int | None,
    kind: str,
    message: str,
    user_id: int | None = None,
    case_id: int | None = None,
    report_id: int | None = None,
    email: tuple[str, str] | None = None,
    sms: str | None = None,
    coded: Message | None = None,
) -> None:
    """Queue an inbox line for a user or a report's tracking page, an e-mail or a text message."""
    session.add(
        Notification(
            **line(
                source_event_id=source_event_id,
                kind=kind,
                message=message,
                user_id=user_id,
                case_id=case_id,
                report_id=report_id,
                email=email,
                sms=sms,
                coded=coded,
            )
        )
    )


def line(
    *,
    source_event_id: int | None,
    kind: str,
    message: str,
    user_id: int | None = None,
    case_id: int | None = None,
    report_id: int | None = None,
    email: tuple[str, str] | None = None,
    sms: str | None = None,
    coded: Message | None = None,
) -> dict[str, Any]:
    """The columns of one queued line, for :func:`queue_lines` (arguments as :func:`queue`)."""
    # ``coded`` is the line as a message code, kept beside ``message`` (the text sent) so the
    # inbox shows it in each reader's language.
    # Given ``email`` as (address, subject), the line is an e-mail, and given ``sms`` (a phone
    # number) a text message, that :func:`send_pending` sends later through its channel.
    address, subject = email or (sms, None)
    return {
        "source_event_id": source_event_id,
        "case_id": case_id,
        "user_id": user_id,
        "report_id": report_id,
        "channel": "email" if email else "sms" if sms else "inbox",
        "kind": kind,
        "address": address,
        "subject": subject,
        "message": message,
        "message_code": coded.code if coded else None,
        "message_params": dict(coded.params) if coded else None,
    }


def queue_lines(session: Session, lines: list[dict[str, Any]]) -> None:
    """Queue many lines (from :func:`line`) in one statement, in order."""
    # One INSERT for all, where adding each row costs one INSERT per row on SQLite (the ORM
    # wants every new row's id back; nobody needs these). With its NULLs written out, or rows
    # with other columns left empty would go in separate statements.
    if lines:
        session.execute(insert(Notification).execution_options(render_nulls=True), lines)


def send_pending(db: Database, *, channel: Channel, limit: int = 100) -> int:
    """Send the queued messages of one channel (e-mail, or a plug-in's SMS); how many went."""
    # Each is sent with no transaction open and then marked, so a slow mail server never holds
    # the database; a crash between the two resends (at-least-once).
    with db.read() as session:
        queued = [
            (n.id, n.address or "", n.subject or "", n.message)
            for n in session.scalars(
                select(Notification)
                .where(
                    Notification.channel == channel.name,
                    Notification.sent_at.is_(None),
                    Notification.attempts < MAX_SEND_ATTEMPTS,
                )
                .order_by(Notification.id)
                .limit(limit)
            )
        ]
    sent = 0
    for notification_id, address, subject, body in queued:
        error: str | None = None
        try:
            channel.send(address, subject, body)
        except Exception as exc:  # a refused or unreachable server: try again later
            log.warning("e-mail %s to %s failed: %s", notification_id, address, exc)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        with db.writing() as session:
            row = session.get(Notification, notification_id)
            if row is None:
                continue
            if error:
                row.attempts += 1
                row.last_error = error
            else:
                row.sent_at = utcnow()
                sent += 1
    return sent


def for_user(session: Session, *, user_id: int, limit: int = 100) -> list[Notification]:
    """A user's newest inbox lines."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.channel == "inbox")
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def for_report(session: Session, *, report_id: int, limit: int = 100) -> list[Notification]:
    """The newest inbox lines on a report's tracking page."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.report_id == report_id, Notification.channel == "inbox")
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
