"""The access log records the reads other packages report through the outbox.

Identity is an application-platform package and the access log belongs to the data platform,
which may import the application platform but not the other way round; so identity emits a
typed :class:`PersonalDataRead` in the transaction of the read, and this consumer appends it.
A package above the data platform (the services domain) calls :func:`record_access` directly.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.base.outbox import DeliveredEvent
from cityloop.platforms.application.identity.events import PersonalDataRead
from cityloop.platforms.data.access import service


def on_personal_data_read(session: Session, event: DeliveredEvent) -> None:
    """Append the read an event reports (once, however often it is delivered)."""
    if service.already_recorded(session, event_id=event.id):
        return
    read = event.event
    assert isinstance(read, PersonalDataRead)
    service.record_access(
        session,
        user_id=read.user_id,
        enterprise_uscc=read.enterprise_uscc,
        actor=read.actor,
        actor_role=read.actor_role,
        actor_department=read.actor_department,
        fields=read.fields,
        purpose=read.purpose,
        reference=read.reference,
        legal_basis=read.legal_basis,
        consent_id=read.consent_id,
        consent_at=read.consent_at,
        at=read.at,
        source_event_id=event.id,
    )
