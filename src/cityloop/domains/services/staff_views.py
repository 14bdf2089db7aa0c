"""Routes of the reviewing departments and the catalogue's admins: the work queue, an
application under review, acceptance and step decisions, fees, and editing the catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.domains.services import applications, catalogue, presenters, queries, review, stats
from cityloop.domains.services import responses as out
from cityloop.domains.services.lifecycle import Setting
from cityloop.domains.services.models import ApplicationMaterial
from cityloop.domains.services.schemas import ActiveIn, FeeIn, ReasonIn, StepDecisionIn
from cityloop.domains.services.setting import setting_of
from cityloop.domains.services.views import material_response
from cityloop.domains.services.workflow import STEP_DECISIONS
from cityloop.platforms.application.identity.deps import require_roles, staff_actor
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["services (staff)"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
ApplicationId = Annotated[int, Path(ge=1, le=2_147_483_647)]
StepId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Code = Annotated[str, Path(max_length=40)]
Settings = Annotated[Setting, Depends(setting_of)]
Decision = Annotated[str, Path(pattern="^(" + "|".join(STEP_DECISIONS) + ")$")]


@router.get("/service-queue")
def work_queue(
    ctx: Ctx,
    actor: Staff,
    department: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool = False,
) -> list[out.QueueItem]:
    """The department's applications to accept and steps to decide, soonest deadline first."""
    with ctx.reading() as session:
        return queries.work_queue(session, actor=actor, department=department, overdue_only=overdue)


@router.get("/staff/applications/{application_id}")
def application(ctx: Ctx, actor: Staff, application_id: ApplicationId) -> out.StaffApplication:
    """An application under review, with its form, materials and full timeline (the read is
    audited)."""

    def write(session: Session) -> out.StaffApplication:
        found = review.staff_application(session, application_id=application_id, actor=actor)
        return presenters.staff_application(session, found)

    return ctx.write_grouped(write)


@router.get(
    "/staff/applications/{application_id}/materials/{material_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
def material(
    ctx: Ctx, actor: Staff, application_id: ApplicationId, material_id: StepId
) -> Response:
    """A document of an application the staff member reviews (the read is audited)."""

    def write(session: Session) -> ApplicationMaterial:
        review.staff_application(session, application_id=application_id, actor=actor)
        return applications.material_of(
            session, application_id=application_id, material_id=material_id
        )

    # The bytes are fetched from storage after the commit, off the single writer.
    return material_response(ctx, ctx.write_grouped(write))


@router.post("/staff/applications/{application_id}/accept")
def accept(
    ctx: Ctx, actor: Staff, setting: Settings, application_id: ApplicationId
) -> out.StaffApplication:
    """Accept (受理): the time limit starts, and the first stage of review."""

    def write(session: Session) -> out.StaffApplication:
        found = review.accept(session, application_id=application_id, actor=actor, setting=setting)
        return presenters.staff_application(session, found)

    return ctx.write_grouped(write)


@router.post("/staff/applications/{application_id}/not-accept")
def not_accept(
    ctx: Ctx, actor: Staff, application_id: ApplicationId, body: ReasonIn
) -> out.StaffApplication:
    """Do not accept (不予受理), with the reason the applicant reads."""

    def write(session: Session) -> out.StaffApplication:
        found = review.not_accept(
            session, application_id=application_id, actor=actor, reason=body.reason
        )
        return presenters.staff_application(session, found)

    return ctx.write_grouped(write)


@router.post("/staff/applications/{application_id}/steps/{step_id}/allow-supplement")
def allow_supplement(
    ctx: Ctx, actor: Staff, application_id: ApplicationId, step_id: StepId
) -> out.StaffApplication:
    """A supervisor lets a step ask for one more supplement."""

    def write(session: Session) -> out.StaffApplication:
        found = review.allow_supplement(
            session, application_id=application_id, step_id=step_id, actor=actor
        )
        return presenters.staff_application(session, found)

    return ctx.write_grouped(write)


@router.post("/staff/applications/{application_id}/steps/{step_id}/{decision}")
def decide(
    ctx: Ctx,
    actor: Staff,
    setting: Settings,
    application_id: ApplicationId,
    step_id: StepId,
    decision: Decision,
    body: StepDecisionIn | None = None,
) -> out.StaffApplication:
    """A department's decision on its step: approve, deny (reason and legal basis) or
    request_supplement (items)."""
    given = body or StepDecisionIn()

    def write(session: Session) -> out.StaffApplication:
        found = review.decide_step(
            session, application_id=application_id, step_id=step_id, action=decision,
            actor=actor, setting=setting, reason=given.reason, legal_basis=given.legal_basis,
            items=given.items,
        )  # fmt: skip
        return presenters.staff_application(session, found)

    return ctx.write_grouped(write)


@router.post("/staff/applications/{application_id}/fee")
def record_fee(
    ctx: Ctx, actor: Staff, setting: Settings, application_id: ApplicationId, body: FeeIn
) -> out.StaffApplication:
    """Record the fee as paid at the counter, with its receipt number."""

    def write(session: Session) -> out.StaffApplication:
        found = review.record_fee(
            session, application_id=application_id, actor=actor, receipt=body.receipt,
            setting=setting,
        )  # fmt: skip
        return presenters.staff_application(session, found)

    return ctx.write_grouped(write)


@router.get("/service-stats")
def department_stats(
    ctx: Ctx, actor: Staff, since: datetime | None = None
) -> list[out.DepartmentStats]:
    """Each department's on-time rate, late steps and ratings (好差评), busiest first."""
    with ctx.reading() as session:
        return stats.department_stats(session, since=since)


# ------------------------------------------------------------------ the catalogue's admins


@router.get("/services/{code}/definition")
def service_definition(
    ctx: Ctx,
    actor: Admin,
    code: Code,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> out.ServiceDefinitionText:
    """A service's definition as stored (the current version, or the one named): what the
    catalogue editor changes and saves back with PUT."""
    with ctx.reading() as session:
        service = catalogue.require_service(session, code=code)
        number = version or service.current_version
        definition = catalogue.definition_at(session, code=code, version=number)
        return out.ServiceDefinitionText(
            code=code, version=number, current_version=service.current_version,
            active=service.active, definition=definition.model_dump(mode="json", by_alias=True),
        )  # fmt: skip


@router.put("/services/{code}")
def save_service(
    ctx: Ctx,
    actor: Admin,
    code: Code,
    definition: Annotated[dict[str, Any], Body()],
    note: Annotated[str, Query(max_length=500)] = "",
) -> out.ServiceGuide:
    """Save a service's definition as its next version (or create it); applications already
    filed keep their version."""
    with ctx.writing() as session:
        catalogue.save_definition(session, raw=definition, actor=actor, note=note, code=code)
        service = catalogue.require_service(session, code=code)
        current = catalogue.current_definition(session, code=code)
        return presenters.service_guide(service, current, presenters.Departments(session))


@router.post("/services/{code}/active")
def set_active(ctx: Ctx, actor: Admin, code: Code, body: ActiveIn) -> out.ServiceSummary:
    """Open or close a service for new applications."""
    with ctx.writing() as session:
        service = catalogue.set_active(session, code=code, active=body.active, actor=actor)
        current = catalogue.current_definition(session, code=code)
        return presenters.service_summary(service, current, presenters.Departments(session))
