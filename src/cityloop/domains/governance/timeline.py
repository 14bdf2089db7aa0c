"""The case timeline: every change is an appended row, and this module is the one home of what
the public may read of a row (its message, its note, its photos).

A timeline row is both the audit trail and the citizen's view of the case; ``record`` writes
one and tells followers when it is public.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.domains.governance import events
from cityloop.domains.governance.messages import Message, render_stored
from cityloop.domains.governance.models import Case, CaseEvent
from cityloop.platforms.application.identity.service import Actor

# Actions whose attachments are public even when their note is not: the department's proof
# photos are what a citizen checks the fix against.
PUBLIC_ATTACHMENT_ACTIONS = frozenset({"resolve"})


def is_public_event(event: CaseEvent) -> bool:
    """Whether citizens may see a timeline row at all."""
    return bool(event.public_message or event.note_public)


# The same rule as a SQL condition, for queries that filter many rows at once.
PUBLIC_EVENT_SQL = or_(
    and_(CaseEvent.public_message.is_not(None), CaseEvent.public_message != ""),
    CaseEvent.note_public.is_(True),
)


def staff_note(event: CaseEvent, locale: str = "en") -> str | None:
    """The row's note for staff in ``locale`` (a system's coded note rendered for the reader)."""
    return render_stored(event.data.get("note_message"), locale) or event.note


def public_note(event: CaseEvent) -> str | None:
    """The row's staff note if the public may read it."""
    return event.note if event.note_public else None


def public_attachments(event: CaseEvent) -> list[str]:
    """The row's photos the public may see."""
    if event.note_public or event.action in PUBLIC_ATTACHMENT_ACTIONS:
        return list(event.attachments or [])
    return []


def message_text(event: CaseEvent, locale: str = "en") -> str | None:
    """The row's status line in ``locale``: its stored message code rendered for the reader
    (the stored English ``public_message`` only for a row written before codes were kept)."""
    return render_stored(event.data.get("message"), locale) or event.public_message


def public_text(event: CaseEvent, separator: str = ". ", locale: str = "en") -> str:
    """The row as one line for citizens: its status message, then its public note."""
    line = message_text(event, locale)
    parts = [line] if line else []
    note = public_note(event)
    if note and note not in (line or "") and note not in (event.public_message or ""):
        parts.append(note)
    return separator.join(parts)


def record(
    session: Session,
    *,
    case: Case,
    action: str,
    actor: Actor,
    to_status: str,
    from_status: str | object | None = ...,
    message: Message | None = None,
    message_public: bool = True,
    note: str | None = None,
    note_message: Message | None = None,
    note_public: bool = False,
    attachments: list[str] | None = None,
    data: dict[str, Any] | None = None,
    department_update: bool = True,
    notify: bool = True,
    at: datetime | None = None,
) -> CaseEvent:
    """Append a timeline row (public rows reset update_overdue and notify followers)."""
    # ``department_update`` and ``notify`` turn either effect off for rows the department did
    # not write (a sensor's "normal again" line).
    # ``message_public`` False keeps the line for staff: stored by code, never shown to citizens.
    # ``at`` is the row's time when the change it records took its own (a new case's).
    now = at or utcnow()
    # A system's note (``note_message``) is kept as a code, so staff read it in their language.
    public_message = message.render() if message and message_public else None
    if message:
        data = {**(data or {}), "message": message.as_dict()}
    if note_message:
        note = note or note_message.render()
        data = {**(data or {}), "note_message": note_message.as_dict()}
    event = CaseEvent(
        case_id=case.id,
        at=now,
        action=action,
        from_status=case.status if from_status is ... else from_status,
        to_status=to_status,
        actor=actor.username,
        actor_role=actor.role,
        department_code=case.department_code,
        public_message=public_message,
        note=note,
        note_public=bool(note and note_public),
        attachments=attachments or [],
        data=data or {},
    )
    session.add(event)
    public = is_public_event(event)
    if public and department_update:
        # Set before the flush, so the case's changes go in the UPDATE that flush writes anyway.
        case.last_public_update_at = now
        case.update_overdue = False
    session.flush()  # the row's id names it in the event
    if public and notify:
        emit(
            session,
            events.CasePublicUpdate(
                case_id=case.id, event_id=event.id, action=action, status=to_status
            ),
        )
    return event


def timeline(session: Session, *, case_id: int, public_only: bool) -> list[CaseEvent]:
    """A case's rows in order; only the public ones when ``public_only``."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    rows = list(session.scalars(query))
    if public_only:
        rows = [e for e in rows if is_public_event(e)]
    return rows


def public_event(session: Session, *, event_id: int) -> CaseEvent | None:
    """One row, if it exists and is public."""
    event = session.get(CaseEvent, event_id)
    if event is None or not is_public_event(event):
        return None
    return event


def public_events(session: Session, *, event_ids: list[int]) -> dict[int, CaseEvent]:
    """:func:`public_event` for many rows in one query, by id; rows not public are left out."""
    if not event_ids:
        return {}
    rows = session.scalars(select(CaseEvent).where(CaseEvent.id.in_(event_ids)))
    return {row.id: row for row in rows if is_public_event(row)}


def latest_event_id(session: Session) -> int:
    """The newest row's id (0 when there is none)."""
    return session.scalar(select(func.max(CaseEvent.id))) or 0
