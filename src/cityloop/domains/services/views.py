"""Routes of the service hall and of the applicant: the catalogue, and an application from draft
to rating. The rules live in ``applications``; these routes only read input and answer."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import bad_request, forbidden
from cityloop.domains.services import applications, catalogue, payments, prefill, presenters
from cityloop.domains.services import responses as out
from cityloop.domains.services.definitions import MAX_MATERIAL_BYTES, Audience
from cityloop.domains.services.lifecycle import Setting
from cityloop.domains.services.messages import Message
from cityloop.domains.services.models import ApplicationMaterial
from cityloop.domains.services.schemas import (
    ApplicationRatingIn,
    ConsentIn,
    FormIn,
    NoteIn,
    PaymentIn,
    StartIn,
    SupplementIn,
)
from cityloop.domains.services.setting import setting_of
from cityloop.platforms.application.identity.deps import optional_user, require_roles
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.application.media.documents import screen_document
from cityloop.platforms.application.media.views import read_capped

router = APIRouter(prefix="/api/v1", tags=["services"])
Ctx = Annotated[AppContext, Depends(get_context)]
Citizen = Annotated[Actor, Depends(require_roles(Role.CITIZEN))]
ApplicationId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Code = Annotated[str, Path(max_length=40)]
Settings = Annotated[Setting, Depends(setting_of)]


@router.get("/services")
def service_hall(
    ctx: Ctx,
    request: Request,
    q: Annotated[str | None, Query(max_length=100)] = None,
    audience: Audience | None = None,
    topic: Annotated[str | None, Query(max_length=40)] = None,
    include_inactive: Annotated[
        bool, Query(description="closed services too (admins only: the catalogue editor)")
    ] = False,
) -> list[out.ServiceSummary]:
    """The service hall (办事大厅): every open service, searched by words, audience and topic."""
    # The token is read only when asked for closed services: the open hall stays a plain read.
    if include_inactive:
        user = optional_user(request)
        if user is None or user.role != Role.ADMIN:
            raise forbidden(Message("services.only_admins_list_closed"))
    with ctx.reading() as session:
        names = presenters.Departments(session)
        found = catalogue.hall(
            session, q=q, audience=audience, topic=topic, include_inactive=include_inactive
        )
        return [presenters.service_summary(s, d, names) for s, d in found]


@router.get("/services/{code}")
def service_guide(ctx: Ctx, code: Code) -> out.ServiceGuide:
    """A service's guide (办事指南): materials, form, approvals, fee, time limit, licence."""
    with ctx.reading() as session:
        service = catalogue.require_service(session, code=code)
        definition = catalogue.definition_at(session, code=code, version=service.current_version)
        return presenters.service_guide(service, definition, presenters.Departments(session))


@router.get("/services/{code}/versions")
def service_versions(ctx: Ctx, code: Code) -> list[out.ServiceVersionInfo]:
    """Every version of a service's definition, newest first."""
    with ctx.reading() as session:
        return [
            out.ServiceVersionInfo(
                version=v.version,
                created_at=v.created_at.isoformat(),
                created_by=v.created_by,
                note=v.note,
            )
            for v in catalogue.versions(session, code=code)
        ]


# ------------------------------------------------------------------ the applicant


@router.post("/applications", status_code=201)
def start_application(ctx: Ctx, actor: Citizen, body: StartIn) -> out.Application:
    """Open a draft application for a service (for an enterprise given its USCC)."""

    def write(session: Session) -> out.Application:
        application = applications.start(
            session, service_code=body.service, actor=actor, enterprise_uscc=body.enterprise
        )
        return presenters.applicant_application(session, application)

    return ctx.write_grouped(write)


@router.get("/me/applications")
def my_applications(
    ctx: Ctx, actor: Citizen, status: Annotated[str | None, Query(max_length=30)] = None
) -> list[out.ApplicationSummary]:
    """The signed-in citizen's applications, drafts included, newest first."""
    with ctx.reading() as session:
        return [
            presenters.application_summary(session, a)
            for a in applications.mine(session, actor=actor, status=status)
        ]


@router.get("/applications/{application_id}")
def my_application(ctx: Ctx, actor: Citizen, application_id: ApplicationId) -> out.Application:
    """One of my applications with its form, materials and timeline. Only ever my own."""
    with ctx.reading() as session:
        application = applications.own_application(
            session, application_id=application_id, actor=actor
        )
        return presenters.applicant_application(session, application)


@router.put("/applications/{application_id}/form")
def save_form(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, body: FormIn
) -> out.Application:
    """Autosave a draft's answers; any device resumes from them."""

    def write(session: Session) -> out.Application:
        application = applications.save_form(
            session, application_id=application_id, actor=actor, form=body.form
        )
        return presenters.applicant_application(session, application)

    return ctx.write_grouped(write)


@router.post("/applications/{application_id}/prefill")
def prefill_form(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, body: ConsentIn
) -> out.PrefillAnswer:
    """Fill the draft from the city's records (一次不用跑), with consent; each read is logged
    where the applicant sees it (GET /api/v1/me/data-access). Other departments' records are
    read under the service department's sharing grants; ``not_filled`` says what was left
    empty for want of one."""

    def write(session: Session) -> out.PrefillAnswer:
        done = prefill.prefill(
            session, application_id=application_id, actor=actor, consent=body.consent
        )
        return presenters.prefill_answer(session, done.application, done.gaps)

    return ctx.write_grouped(write)


@router.post("/applications/{application_id}/materials", status_code=201)
async def add_material(
    ctx: Ctx,
    actor: Citizen,
    application_id: ApplicationId,
    material: Annotated[str, Form(max_length=40)],
    file: Annotated[UploadFile | None, File()] = None,
) -> out.Material:
    """Hand in a document for one of the service's materials (PDF or a photo of the paper)."""
    if file is None:
        raise bad_request(Message("services.send_document_multipart_field"), field="file")
    raw = await read_capped(file, MAX_MATERIAL_BYTES)
    screen = partial(
        screen_document, raw, types={"pdf", "jpeg", "png", "webp"},
        max_bytes=MAX_MATERIAL_BYTES, max_pixels=ctx.settings.media_max_pixels,
    )  # fmt: skip
    document = await anyio.to_thread.run_sync(screen, limiter=ctx.extras["media_decodes"])

    def store() -> ApplicationMaterial:
        with ctx.writing() as session:
            return applications.add_material(
                session, application_id=application_id, actor=actor, material_code=material,
                filename=file.filename or material, document=document, storage=ctx.storage,
            )  # fmt: skip

    row = await run_in_threadpool(store)
    return out.Material(
        id=row.id, material_code=row.material_code, filename=row.filename,
        content_type=row.content_type, size=row.size, uploaded_at=row.uploaded_at.isoformat(),
    )  # fmt: skip


@router.get(
    "/applications/{application_id}/materials/{material_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
def my_material(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, material_id: ApplicationId
) -> Response:
    """One of the applicant's own documents."""
    with ctx.reading() as session:
        applications.own_application(session, application_id=application_id, actor=actor)
        row = applications.material_of(
            session, application_id=application_id, material_id=material_id
        )
    return material_response(ctx, row)


def material_response(ctx: AppContext, row: ApplicationMaterial) -> Response:
    """A document's bytes, never cached by shared caches."""
    return Response(
        ctx.storage.get(row.media_id),
        media_type=row.content_type,
        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"},
    )


@router.post("/applications/{application_id}/submit")
def submit(ctx: Ctx, actor: Citizen, application_id: ApplicationId) -> out.Application:
    """Hand in the application: 422 naming every failing field or missing material."""

    def write(session: Session) -> out.Application:
        application = applications.submit(session, application_id=application_id, actor=actor)
        return presenters.applicant_application(session, application)

    return ctx.write_grouped(write)


@router.post("/applications/{application_id}/supplement")
def answer_supplement(
    ctx: Ctx, actor: Citizen, setting: Settings, application_id: ApplicationId, body: SupplementIn
) -> out.Application:
    """Answer a supplement request (补正): changed answers and new materials go to review."""

    def write(session: Session) -> out.Application:
        application = applications.answer_supplement(
            session, application_id=application_id, actor=actor, setting=setting,
            form=body.form, note=body.note,
        )  # fmt: skip
        return presenters.applicant_application(session, application)

    return ctx.write_grouped(write)


@router.post("/applications/{application_id}/withdraw")
def withdraw(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, body: NoteIn | None = None
) -> out.Application:
    """Withdraw my application before the city decides it (a draft is dropped). Only ever my own."""

    def write(session: Session) -> out.Application:
        application = applications.withdraw(
            session, application_id=application_id, actor=actor, note=body.note if body else None
        )
        return presenters.applicant_application(session, application)

    return ctx.write_grouped(write)


@router.post("/applications/{application_id}/payments", status_code=201)
def start_payment(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, body: PaymentIn
) -> out.PaymentStarted:
    """Pay the fee online with an installed provider (409 when the city has none)."""
    with ctx.reading() as session:
        started = payments.start_payment(
            session, application_id=application_id, actor=actor, provider_name=body.provider
        )
    return out.PaymentStarted(redirect_url=started.redirect_url, reference=started.reference)


@router.post("/payments/{provider}/notifications")
async def payment_notification(
    ctx: Ctx, request: Request, setting: Settings, provider: Annotated[str, Path(max_length=40)]
) -> out.PaymentRecorded:
    """A provider's notification of a payment (the provider verifies its signature)."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}

    def record() -> out.PaymentRecorded:
        with ctx.writing() as session:
            application = payments.confirm_payment(
                session, provider_name=provider, headers=headers, body=body, setting=setting
            )
            return out.PaymentRecorded(
                application_id=application.id, paid=application.fee_paid_at is not None
            )

    return await run_in_threadpool(record)


@router.post("/applications/{application_id}/rating", status_code=201)
def rate(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, body: ApplicationRatingIn
) -> out.Rating:
    """Rate a finished application (好差评), once."""

    def write(session: Session) -> out.Rating:
        rating = applications.rate(
            session, application_id=application_id, actor=actor,
            score=body.score, comment=body.comment,
        )  # fmt: skip
        session.flush()
        return out.Rating(score=rating.score, comment=rating.comment, at=rating.at.isoformat())

    return ctx.write_grouped(write)
