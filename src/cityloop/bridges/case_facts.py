"""From cases to the operations read model: governance's case events keep operations' case
facts up to date, and a nightly reconcile corrects whatever drifted.

Each event only names the case; the handler reads the case (with its ratings and reworks) as it
is now and upserts its whole fact, so a redelivered or out-of-order event changes nothing. The
reconcile walks every case in id order, in batches, does the same, drops facts of cases that no
longer exist, then recomputes the KPI rollups from the facts, and reports how many of each it had
to fix (each fact change also applies its delta to the rollups in its own transaction).
``cityloop operations rebuild`` runs it by hand (the backfill of a database that had cases
before the read model existed).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.cli import DataDir, unit_of_work
from cityloop.base.context import AppContext
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.bridges import application_facts
from cityloop.domains.governance import catalogue
from cityloop.domains.governance.events import CaseChange, CaseCreated, CaseRated, CaseTransitioned
from cityloop.domains.governance.models import Case, CaseEvent, Rating
from cityloop.domains.operations import datasets as operations_datasets
from cityloop.domains.operations import facts, rollups
from cityloop.domains.operations import report as operations_report
from cityloop.domains.operations.facts import CaseFact, RatingFact, ReworkFact
from cityloop.domains.operations.rollups import RollupDrift
from cityloop.platforms.data.catalogue.producers import FunctionProducer, register

log = logging.getLogger(__name__)
CONSUMER = "operations.case-facts"
TRIGGERS = (CaseCreated, CaseTransitioned, CaseRated)
BATCH = 1000


def category_names(session: Session) -> dict[str, tuple[str, str]]:
    """Every category's English and Chinese name, by code: operations keeps only codes, and its
    public report names the categories of the month's hotspots."""
    return {
        c.code: (c.name, c.name_zh)
        for c in catalogue.list_categories(session, include_inactive=True)
    }


operations_report.use_category_names(category_names)


def fact_of(case: Case, ratings: Sequence[Rating], reworks: Sequence[CaseEvent]) -> CaseFact:
    """The operations fact of one case."""
    return CaseFact(
        case_id=case.id,
        category=case.category_code,
        priority=case.priority,
        channel=case.channel,
        department=case.department_code,
        district=case.district_code,
        street=case.street_code,
        grid=case.grid_code,
        lat=case.lat,
        lon=case.lon,
        status=case.status,
        created_at=case.created_at,
        registered_at=case.registered_at,
        dispatched_at=case.dispatched_at,
        started_at=case.started_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        response_due=case.response_due,
        resolution_due=case.resolution_due,
        on_time=case.on_time,
        handled_on_time=case.handled_on_time,
        rework_count=case.rework_count,
        resolution=case.resolution,
        ratings=tuple(RatingFact(r.id, r.stars, r.at) for r in ratings),
        reworks=tuple(ReworkFact(e.id, e.at, e.department_code) for e in reworks),
    )


def _facts_of(session: Session, cases: Sequence[Case]) -> list[CaseFact]:
    ids = [c.id for c in cases]
    ratings: dict[int, list[Rating]] = defaultdict(list)
    reworks: dict[int, list[CaseEvent]] = defaultdict(list)
    for rating in session.scalars(select(Rating).where(Rating.case_id.in_(ids))):
        ratings[rating.case_id].append(rating)
    reopened = select(CaseEvent).where(CaseEvent.case_id.in_(ids), CaseEvent.action == "reopen")
    for event in session.scalars(reopened):
        reworks[event.case_id].append(event)
    return [fact_of(c, ratings[c.id], reworks[c.id]) for c in cases]


def refresh_case(session: Session, *, case_id: int) -> bool:
    """Bring one case's facts up to date; True when anything changed."""
    return refresh_cases(session, case_ids=[case_id]) > 0


def refresh_cases(session: Session, *, case_ids: Iterable[int]) -> int:
    """Bring these cases' facts up to date, each once; how many changed."""
    wanted = sorted(set(case_ids))
    cases = list(session.scalars(select(Case).where(Case.id.in_(wanted)).order_by(Case.id)))
    changed = facts.record_cases(session, facts=_facts_of(session, cases))
    for gone in set(wanted) - {case.id for case in cases}:
        changed += facts.forget_cases(session, keep=(), below=gone, above=gone - 1) > 0
    return changed


@dataclass
class ReconcileResult:
    checked: int = 0
    fixed: int = 0
    removed: int = 0
    # The KPI rollups recomputed from the facts: rows checked, corrected or added, removed.
    rollups: RollupDrift = field(default_factory=RollupDrift)


def reconcile(session: Session, *, batch: int = BATCH) -> ReconcileResult:
    """Rebuild or correct every case's facts from the cases; counts what it had to fix."""
    result = ReconcileResult()
    after = 0
    while True:
        cases = list(
            session.scalars(select(Case).where(Case.id > after).order_by(Case.id).limit(batch))
        )
        if not cases:
            break
        upto = cases[-1].id
        result.fixed += facts.record_cases(session, facts=_facts_of(session, cases))
        result.checked += len(cases)
        result.removed += facts.forget_cases(
            session, keep=[c.id for c in cases], below=upto, above=after
        )
        after = upto
        session.expunge_all()  # a million cases must not stay in the identity map
    highest = facts.highest_case_id(session)
    if highest > after:
        result.removed += facts.forget_cases(session, keep=(), below=highest, above=after)
    result.rollups = rollups.reconcile(session)
    return result


def _handle(session: Session, batch: list[DeliveredEvent]) -> None:
    # A case's several events in one batch (created, then its public update) refresh it once.
    changes = [delivered.event for delivered in batch]
    refresh_cases(
        session, case_ids=[event.case_id for event in changes if isinstance(event, CaseChange)]
    )


def subscribe(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    """Case events keep the facts; one consumer, so a case's events apply in order."""
    consumers.subscribe_batch(CONSUMER, TRIGGERS, _handle)


def reconcile_job(ctx: AppContext) -> ReconcileResult:
    """The nightly reconcile, in one transaction."""
    with ctx.writing() as session:
        result = reconcile(session)
    if result.fixed or result.removed:
        log.warning(
            "case facts reconciled: %s of %s fixed, %s removed",
            result.fixed,
            result.checked,
            result.removed,
        )
    drift = result.rollups
    if drift.fixed or drift.removed:
        log.warning(
            "KPI rollups drifted from the facts: %s of %s rows fixed, %s removed",
            drift.fixed,
            drift.checked,
            drift.removed,
        )
    return result


def register_dataset(ctx: AppContext) -> None:
    """Operations' monthly KPI dataset, marked for rebuilding by governance's case events."""
    spec = replace(operations_datasets.CASE_KPIS, triggers=TRIGGERS)
    register(ctx, FunctionProducer(spec, operations_datasets.kpi_rows))


def rebuild(data_dir: DataDir = None) -> None:
    """Rebuild the operations read model from the cases and the applications (the nightly
    reconcile, now)."""
    with unit_of_work(data_dir) as session:
        result = reconcile(session)
        applications = application_facts.reconcile(session)
    drift = result.rollups
    typer.echo(
        f"case facts: {result.checked} cases checked, {result.fixed} fixed, "
        f"{result.removed} removed\n"
        f"KPI rollups: {drift.checked} rows checked, {drift.fixed} fixed, "
        f"{drift.removed} removed\n"
        f"application facts: {applications.checked} applications checked, "
        f"{applications.fixed} fixed, {applications.removed} removed"
    )


def install(app: typer.Typer) -> None:
    """Add `operations rebuild` to the root command."""
    group = typer.Typer(help="The operations centre's read model.", no_args_is_help=True)
    group.command("rebuild")(rebuild)
    app.add_typer(group, name="operations")
