"""Staff routes: the case queue and list, a case and its actions, bulk actions, the
dispute queue; and the reference data every client reads (vocabulary, categories)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import iso
from cityloop.base.locale import ReaderLocale
from cityloop.base.problems import Problem, not_found
from cityloop.domains.governance import assignment, contacts, queries
from cityloop.domains.governance import responses as out
from cityloop.domains.governance.actions import ActionInput, apply_action
from cityloop.domains.governance.catalogue import (
    get_category,
    list_categories,
)
from cityloop.domains.governance.presenters import (
    Names,
    category_out,
    contact_out,
    my_work_case,
    staff_case_out,
    staff_case_summary,
    vocabulary,
)
from cityloop.domains.governance.schemas import (
    ActionIn,
    BulkActionIn,
    ContactOpenIn,
)
from cityloop.domains.governance.workflow import OPEN_STATES
from cityloop.platforms.application.identity.deps import staff_actor
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["cases"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
# Ids beyond a 32-bit integer name no case; refuse them before PostgreSQL does.
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]


VOCABULARY = vocabulary()  # built once: it changes only with the code


@router.get("/vocabulary")
def workflow_vocabulary() -> out.Vocabulary:
    """Statuses (which are open, terminal, closed for Open311), resolutions, priorities, channels
    and the workflow's actions: the lists front ends read instead of copying them."""
    return VOCABULARY


@router.get("/categories")
def categories(ctx: Ctx, locale: ReaderLocale) -> list[out.Category]:
    """The categories of problems citizens can report, their questions in the reader's language;
    for anyone."""
    with ctx.reading() as session:
        return [category_out(c, locale) for c in list_categories(session)]


@router.get("/categories/{code}")
def category(ctx: Ctx, code: str, locale: ReaderLocale) -> out.Category:
    """One category of problem by its code; for anyone."""
    with ctx.reading() as session:
        found = get_category(session, code=code)
        if found is None:
            raise not_found("category", code)
        return category_out(found, locale)


# ------------------------------------------------------------------ staff


@router.get("/cases")
def list_cases(
    ctx: Ctx,
    actor: Staff,
    locale: ReaderLocale,
    status: Annotated[list[str] | None, Query()] = None,
    category: str | None = None,
    district: str | None = None,
    street: str | None = None,
    grid: str | None = None,
    department: str | None = None,
    channel: str | None = None,
    overdue: bool | None = None,
    escalated: bool | None = None,
    disputed: bool | None = None,
    open: Annotated[bool | None, Query(description="only cases the city still works on")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    sort: str = "-created",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> out.CasePage:
    """One page of the cases a staff member may see, filtered and sorted; staff only."""
    statuses = [s for value in (status or []) for s in value.split(",") if s]
    if open:
        statuses = statuses or [s.value for s in OPEN_STATES]
    f = queries.CaseFilter(
        status=statuses,
        category=category,
        district=district,
        street=street,
        grid=grid,
        department=department,
        channel=channel,
        overdue=overdue,
        escalated=escalated,
        disputed=disputed,
        q=q,
        created_after=created_after,
        created_before=created_before,
        sort=sort,
    )
    with ctx.reading() as session:
        rows, total = queries.list_cases(
            session, actor=actor, filters=f, page=page, page_size=page_size
        )
        photos = queries.case_photos_many(session, case_ids=[c.id for c in rows])
        names = Names(session)
        items = [staff_case_summary(session, c, actor, photos[c.id], names, locale) for c in rows]
    return out.CasePage(items=items, total=total, page=page, page_size=page_size)


@router.get("/my-work")
def my_work(ctx: Ctx, actor: Staff, locale: ReaderLocale) -> out.MyWork:
    """My department's open cases: those assigned to me first, then my crews', then the rest,
    each group soonest deadline first; for department handlers and field workers."""
    with ctx.reading() as session:
        rows = assignment.my_work(session, actor=actor)
        photos = queries.case_photos_many(session, case_ids=[c.id for _, c in rows])
        names = Names(session)
        return out.MyWork(
            items=[
                my_work_case(session, case, actor, group, photos[case.id], names, locale)
                for group, case in rows
            ]
        )


@router.get("/workload")
def workload(
    ctx: Ctx, actor: Staff, department: Annotated[str | None, Query(max_length=40)] = None
) -> out.Workload:
    """Open and overdue cases per crew and per field worker of a department, and how many nobody
    holds; the department's handlers (their own) and city-wide staff (any department)."""
    with ctx.reading() as session:
        found = assignment.workload(session, actor=actor, department_code=department)
    return out.Workload(
        department=found.department,
        crews=[out.Load(**vars(row)) for row in found.crews],
        workers=[out.Load(**vars(row)) for row in found.workers],
        unassigned=out.Load(**vars(found.unassigned)),
    )


@router.get("/cases/{case_id}")
def get_case(ctx: Ctx, actor: Staff, case_id: CaseId, locale: ReaderLocale) -> out.StaffCase:
    """A case with its full timeline; staff who may see it (another department's case is a 404)."""
    with ctx.reading() as session:
        case = queries.get_case_for(session, actor=actor, case_id=case_id)
        return staff_case_out(session, case, actor, locale)


@router.post("/cases/{case_id}/reports/{report_id}/contact")
def open_report_contact(
    ctx: Ctx, actor: Staff, case_id: CaseId, report_id: CaseId, body: ContactOpenIn
) -> out.ReportContact:
    """A reporter's contact details, for a purpose: audited, and in the reporter's own access
    log when they reported with an account."""

    def write(session: Session) -> out.ReportContact:
        report = contacts.open_contact(
            session, case_id=case_id, report_id=report_id, actor=actor, purpose=body.purpose
        )
        return contact_out(report, purpose=body.purpose)

    return ctx.write_grouped(write)


def _action_input(body: ActionIn) -> ActionInput:
    return ActionInput(
        action=body.action,
        note=body.note,
        department=body.department,
        attachments=body.attachments,
        resolution=body.resolution,
        referred_to=body.referred_to,
        merge_into=body.merge_into,
        public=body.public,
        assignee_user_id=body.assignee_user_id,
        assignee_crew_id=body.assignee_crew_id,
    )


@router.post("/cases/{case_id}/actions")
def act(
    ctx: Ctx, actor: Staff, case_id: CaseId, body: ActionIn, locale: ReaderLocale
) -> out.StaffCase:
    """Move a case through the workflow (assign, resolve, close …); staff whose role allows the
    action."""

    def write(session: Session) -> out.StaffCase:
        case = apply_action(session, case_id=case_id, actor=actor, data=_action_input(body))
        # Shaped inside the unit of work: after a reassign the actor may no longer see the case.
        return staff_case_out(session, case, actor, locale)

    return ctx.write_grouped(write)


def _bulk_unit(case_id: int, actor: Actor, body: BulkActionIn) -> Callable[[Session], str]:
    """One case of a bulk action as a unit of work of its own; answers the case's new status."""

    def write(session: Session) -> str:
        case = apply_action(session, case_id=case_id, actor=actor, data=_action_input(body))
        return case.status

    return write


@router.post("/cases/bulk-actions")
def bulk_act(ctx: Ctx, actor: Staff, body: BulkActionIn, locale: ReaderLocale) -> out.BulkAnswer:
    """Each case is its own unit of work: one illegal case does not block the others."""
    case_ids = list(dict.fromkeys(body.case_ids))
    # Handed in together, so the cases commit in one group where the engine groups commits.
    answers = ctx.write_grouped_each([_bulk_unit(case_id, actor, body) for case_id in case_ids])
    results: list[out.BulkDone | out.BulkRefused] = []
    for case_id, answer in zip(case_ids, answers, strict=True):
        if isinstance(answer, Problem):
            results.append(
                out.BulkRefused(
                    case_id=case_id,
                    ok=False,
                    status_code=answer.status,
                    detail=answer.detail_in(locale),
                )
            )
        elif isinstance(answer, Exception):
            raise answer  # not the case's fault: a 500 (or a 503), as before
        else:
            results.append(out.BulkDone(case_id=case_id, ok=True, status=answer))
    return out.BulkAnswer(results=results, succeeded=sum(1 for r in results if r.ok))


@router.get("/disputes")
def dispute_queue(ctx: Ctx, actor: Staff, locale: ReaderLocale) -> list[out.QueuedDispute]:
    """The open disputes of closed cases, oldest first; the supervision centre (admins, dispatchers,
    supervisors)."""
    with ctx.reading() as session:
        disputes = queries.open_disputes(session, actor=actor)
        photos = queries.case_photos_many(session, case_ids=[d.case_id for d in disputes])
        names = Names(session)
        answer = []
        for dispute in disputes:
            case = queries.get_case_for(session, actor=actor, case_id=dispute.case_id)
            answer.append(
                out.QueuedDispute(
                    id=dispute.id,
                    case_id=dispute.case_id,
                    note=dispute.note,
                    media=dispute.media_ids,
                    at=iso(dispute.at),
                    case=staff_case_summary(session, case, actor, photos[case.id], names, locale),
                )
            )
        return answer
