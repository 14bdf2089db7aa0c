"""Notifications: every public change reaches the reporter and every supporter; escalations
reach the department's handlers and the supervisors. Consumers of governance events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import Database, utcnow
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.domains.governance import events as case_events
from cityloop.domains.governance import service as governance
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.notify.channels import Channel
from cityloop.platforms.application.notify.models import Notification

if TYPE_CHECKING:
    from cityloop.domains.governance.models import Report

log = logging.getLogger(__name__)
MAX_SEND_ATTEMPTS = 10


def _already_sent(session: Session, event_id: int) -> bool:
    return (
        session.scalar(
            select(Notification.id).where(Notification.source_event_id == event_id).limit(1)
        )
        is not None
    )


def on_public_update(session: Session, event: DeliveredEvent) -> None:
    """An inbox row for every follower, and an e-mail row for each follower who gave an
    address. E-mail rows are sent later by :func:`send_pending`, outside any transaction."""
    if _already_sent(session, event.id):
        return
    case_id = int(event.payload["case_id"])
    timeline_event = governance.public_event(session, int(event.payload["event_id"]))
    if timeline_event is None:
        return
    message = timeline_event.public_message or timeline_event.note or ""
    if timeline_event.public_message and timeline_event.note_public and timeline_event.note:
        message = f"{timeline_event.public_message}. {timeline_event.note}"
    text = f"Case {case_id}: {message}"
    kind = f"case.{event.payload.get('action', 'update')}"
    seen_users: set[int] = set()
    addresses: dict[str, Report] = {}
    for report in governance.followers(session, case_id):
        if report.contact_email:
            addresses.setdefault(report.contact_email.lower(), report)
        if report.reporter_user_id in seen_users:
            continue
        if report.reporter_user_id:
            seen_users.add(report.reporter_user_id)
        session.add(
            Notification(
                source_event_id=event.id,
                case_id=case_id,
                user_id=report.reporter_user_id,
                report_id=report.id,
                kind=kind,
                message=text,
            )
        )
    status = timeline_event.to_status.replace("_", " ")
    for address, report in addresses.items():
        session.add(
            Notification(
                source_event_id=event.id,
                case_id=case_id,
                report_id=report.id,
                channel="email",
                kind=kind,
                address=address,
                subject=f"Your report, case {case_id}: {status}",
                message=f"{text}\n\nFollow it with your tracking code: {report.tracking_token}\n",
            )
        )


def send_pending(db: Database, channel: Channel, limit: int = 100) -> int:
    """Send queued e-mails. Each is sent with no transaction open and then marked, so a slow
    mail server never holds the database; a crash between the two resends (at-least-once)."""
    with db.read() as session:
        queued = [
            (n.id, n.address or "", n.subject or "", n.message)
            for n in session.scalars(
                select(Notification)
                .where(
                    Notification.channel == "email",
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


def on_escalated(session: Session, event: DeliveredEvent) -> None:
    if _already_sent(session, event.id):
        return
    case_id = int(event.payload["case_id"])
    department = event.payload.get("department")
    recipients = identity.users_with_role(session, Role.SUPERVISOR)
    if department:
        recipients += identity.users_with_role(session, Role.HANDLER, department)
    reason = event.payload.get("reason", "manual")
    for user in {u.id: u for u in recipients}.values():
        session.add(
            Notification(
                source_event_id=event.id,
                case_id=case_id,
                user_id=user.id,
                kind=f"case.escalated.{reason}",
                message=f"Case {case_id} was escalated ({reason})",
            )
        )


def on_flagged(session: Session, event: DeliveredEvent) -> None:
    if _already_sent(session, event.id):
        return
    department = event.payload.get("department")
    if not department:
        return
    case_id = int(event.payload["case_id"])
    for user in identity.users_with_role(session, Role.HANDLER, department):
        session.add(
            Notification(
                source_event_id=event.id,
                case_id=case_id,
                user_id=user.id,
                kind="case.no_update",
                message=f"Case {case_id} has had no public update for too long",
            )
        )


def subscribe(registry: ConsumerRegistry) -> None:
    registry.subscribe("notify.public", {case_events.CASE_PUBLIC_UPDATE}, on_public_update)
    registry.subscribe("notify.escalation", {case_events.CASE_ESCALATED}, on_escalated)
    registry.subscribe("notify.flagged", {case_events.CASE_FLAGGED}, on_flagged)


def for_user(session: Session, user_id: int, limit: int = 100) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.channel == "inbox")
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def for_report(session: Session, report_id: int, limit: int = 100) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.report_id == report_id, Notification.channel == "inbox")
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
