"""Notifications: every public change reaches the reporter and every supporter; escalations
reach the department's handlers and the supervisors. Consumers of governance events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent, Handler
from cityloop.governance import events as case_events
from cityloop.governance import service as governance
from cityloop.identity import service as identity
from cityloop.identity.roles import Role
from cityloop.notify.channels import Channel
from cityloop.notify.models import Notification


def _already_sent(session: Session, event_id: int) -> bool:
    return (
        session.scalar(
            select(Notification.id).where(Notification.source_event_id == event_id).limit(1)
        )
        is not None
    )


def public_update_handler(email: Channel | None) -> Handler:
    """Inbox rows for every follower, and an e-mail to each follower who gave an address.

    E-mail is sent inside the consumer's transaction: if sending fails, the inbox rows roll back
    too and the relay retries the whole delivery, so a follower may get a message twice but never
    misses one (at-least-once)."""

    def on_public_update(session: Session, event: DeliveredEvent) -> None:
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
        seen_users: set[int] = set()
        addresses: dict[str, str] = {}
        for report in governance.followers(session, case_id):
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
                    kind=f"case.{event.payload.get('action', 'update')}",
                    message=text,
                )
            )
            if report.contact_email:
                addresses.setdefault(report.contact_email.lower(), report.tracking_token)
        if email is not None:
            for address, token in addresses.items():
                email.send(
                    address,
                    f"Your report, case {case_id}: {timeline_event.to_status.replace('_', ' ')}",
                    f"{text}\n\nFollow it with your tracking code: {token}\n",
                )

    return on_public_update


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


def subscribe(registry: ConsumerRegistry, email: Channel | None = None) -> None:
    registry.subscribe(
        "notify.public", {case_events.CASE_PUBLIC_UPDATE}, public_update_handler(email)
    )
    registry.subscribe("notify.escalation", {case_events.CASE_ESCALATED}, on_escalated)
    registry.subscribe("notify.flagged", {case_events.CASE_FLAGGED}, on_flagged)


def for_user(session: Session, user_id: int, limit: int = 100) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def for_report(session: Session, report_id: int, limit: int = 100) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.report_id == report_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
