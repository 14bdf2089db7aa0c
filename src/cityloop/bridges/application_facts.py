"""From applications to the operations read model: the services domain's events keep
operations' application facts up to date, and the nightly reconcile (and ``cityloop operations
rebuild``) corrects whatever drifted.

Like the case facts, each event only names the application; the handler reads it (with its
rating) as it is now and upserts its whole fact, so a redelivered or out-of-order event changes
nothing. Operations never imports services: this bridge does the translation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.domains.operations import service_figures
from cityloop.domains.operations.service_figures import ApplicationFact
from cityloop.domains.services.events import (
    ApplicationChange,
    ApplicationRated,
    ApplicationTransitioned,
)
from cityloop.domains.services.models import Application, ApplicationRating
from cityloop.domains.services.workflow import Status

log = logging.getLogger(__name__)
CONSUMER = "operations.application-facts"
TRIGGERS = (ApplicationTransitioned, ApplicationRated)
BATCH = 1000
# An issued licence was approved first: both count as an approval.
OUTCOMES = {Status.APPROVED: "approved", Status.ISSUED: "approved", Status.DENIED: "denied"}


def fact_of(application: Application, rating: ApplicationRating | None) -> ApplicationFact:
    """The operations fact of one application (a draft has no submission time yet)."""
    return ApplicationFact(
        application_id=application.id,
        service=application.service_code,
        department=application.department_code,
        status=application.status,
        submitted_at=application.submitted_at,
        due_at=application.due_at,
        decided_at=application.decided_at,
        outcome=OUTCOMES.get(application.status),
        stars=rating.score if rating else None,
        rated_at=rating.at if rating else None,
    )


def _facts_of(session: Session, applications: Sequence[Application]) -> list[ApplicationFact]:
    ids = [a.id for a in applications]
    ratings = {
        r.application_id: r
        for r in session.scalars(
            select(ApplicationRating).where(ApplicationRating.application_id.in_(ids))
        )
    }
    return [fact_of(a, ratings.get(a.id)) for a in applications]


def refresh_application(session: Session, *, application_id: int) -> bool:
    """Bring one application's fact up to date; True when anything changed."""
    application = session.get(Application, application_id)
    if application is None:
        removed = service_figures.forget_applications(
            session, keep=(), above=application_id - 1, below=application_id
        )
        return removed > 0
    (fact,) = _facts_of(session, [application])
    return service_figures.record_application(session, fact=fact)


@dataclass
class ReconcileResult:
    checked: int = 0
    fixed: int = 0
    removed: int = 0


def reconcile(session: Session, *, batch: int = BATCH) -> ReconcileResult:
    """Rebuild or correct every application's fact from the applications; counts the fixes."""
    result = ReconcileResult()
    after = 0
    while True:
        query = select(Application).where(Application.id > after).order_by(Application.id)
        applications = list(session.scalars(query.limit(batch)))
        if not applications:
            break
        upto = applications[-1].id
        for fact in _facts_of(session, applications):
            result.fixed += service_figures.record_application(session, fact=fact)
        result.checked += len(applications)
        result.removed += service_figures.forget_applications(
            session, keep=[a.id for a in applications], above=after, below=upto
        )
        after = upto
        session.expunge_all()
    highest = service_figures.highest_application_id(session)
    if highest > after:
        result.removed += service_figures.forget_applications(
            session, keep=(), above=after, below=highest
        )
    return result


def _handle(session: Session, delivered: DeliveredEvent) -> None:
    event = delivered.event
    if isinstance(event, ApplicationChange):
        refresh_application(session, application_id=event.application_id)


def subscribe(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    """Application events keep the facts; one consumer, so an application's apply in order."""
    consumers.subscribe(CONSUMER, TRIGGERS, _handle)


def reconcile_job(ctx: AppContext) -> ReconcileResult:
    """The nightly reconcile of the application facts, in one transaction."""
    with ctx.writing() as session:
        result = reconcile(session)
    if result.fixed or result.removed:
        log.warning(
            "application facts reconciled: %s of %s fixed, %s removed",
            result.fixed,
            result.checked,
            result.removed,
        )
    return result
