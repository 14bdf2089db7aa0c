"""The wallet (证照夹): the applicant's licences, presentations that disclose only the claims
chosen, and their QR codes; and the department's revocation of a licence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import iso
from cityloop.domains.services import licences, presenters
from cityloop.domains.services import responses as out
from cityloop.domains.services.licence_pdf import licence_pdf
from cityloop.domains.services.schemas import PresentIn, RevokeIn
from cityloop.platforms.application.credentials.qr import qr_payload, qr_svg
from cityloop.platforms.application.identity.deps import require_roles, staff_actor
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["licences"])
Ctx = Annotated[AppContext, Depends(get_context)]
Citizen = Annotated[Actor, Depends(require_roles(Role.CITIZEN))]
Staff = Annotated[Actor, Depends(staff_actor)]
ApplicationId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _licence(held: licences.Held, names: presenters.Departments) -> out.Licence:
    licence = held.definition.licence
    assert licence is not None
    record = held.credential
    return out.Licence(
        application_id=held.application.id, number=presenters.number(held.application),
        licence_id=record.id, type=licence.type, name=licence.name, name_zh=licence.name_zh,
        issuer=names(record.issuer_code), issued_at=iso(record.issued_at) or "",
        expires_at=iso(record.expires_at), revoked=record.revoked_at is not None,
        claims=held.visible, disclosable=held.disclosable,
        labels=presenters.claim_labels(held.definition),
    )  # fmt: skip


def _verify_url(ctx: AppContext) -> str:
    return ctx.settings.public_base_url.rstrip("/") + licences.VERIFY_PATH


@router.get("/me/licences")
def my_licences(ctx: Ctx, actor: Citizen) -> list[out.Licence]:
    """The signed-in citizen's licences, newest first."""
    with ctx.reading() as session:
        names = presenters.Departments(session)
        return [_licence(h, names) for h in licences.wallet(session, actor=actor)]


@router.post("/me/licences/{application_id}/presentations")
def present(
    ctx: Ctx, actor: Citizen, application_id: ApplicationId, body: PresentIn
) -> out.Presentation:
    """A presentation disclosing only the claims named, with the QR code's text."""
    with ctx.reading() as session:
        text = licences.presentation(
            session, application_id=application_id, actor=actor, disclose=body.disclose
        )
    return out.Presentation(
        presentation=text,
        disclosed=sorted(set(body.disclose)),
        qr=qr_payload(text, verify_url=_verify_url(ctx)),
    )


@router.get(
    "/me/licences/{application_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def qr_code(
    ctx: Ctx,
    actor: Citizen,
    application_id: ApplicationId,
    disclose: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> Response:
    """The QR code of a presentation disclosing only the claims named."""
    with ctx.reading() as session:
        text = licences.presentation(
            session, application_id=application_id, actor=actor, disclose=disclose or []
        )
    svg = qr_svg(qr_payload(text, verify_url=_verify_url(ctx)), title="licence 电子证照")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.get(
    "/me/licences/{application_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def licence_as_pdf(
    ctx: Ctx,
    actor: Citizen,
    application_id: ApplicationId,
    disclose: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> Response:
    """The licence as a PDF carrying the QR code of a presentation disclosing only the claims
    named."""
    chosen = disclose or []
    with ctx.reading() as session:
        held = licences.held(session, application_id=application_id, actor=actor)
        text = licences.present(held, disclose=chosen)
        issuer = presenters.Departments(session)(held.credential.issuer_code)
    licence = held.definition.licence
    assert licence is not None
    shown = {**held.visible, **{k: v for k, v in held.disclosable.items() if k in chosen}}
    pdf = licence_pdf(
        name=licence.name, name_zh=licence.name_zh, number=presenters.number(held.application),
        issuer=issuer.name, issuer_zh=issuer.name_zh, issued_at=held.credential.issued_at,
        expires_at=held.credential.expires_at, claims=shown,
        qr_text=qr_payload(text, verify_url=_verify_url(ctx)),
    )  # fmt: skip
    filename = f"licence-{presenters.number(held.application)}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


@router.post("/staff/applications/{application_id}/revoke-licence")
def revoke_licence(
    ctx: Ctx, actor: Staff, application_id: ApplicationId, body: RevokeIn
) -> out.StaffApplication:
    """Revoke an issued licence: verifiers refuse it once they fetch the status list again."""

    def write(session: Session) -> out.StaffApplication:
        application = licences.revoke(
            session, application_id=application_id, actor=actor, reason=body.reason
        )
        return presenters.staff_application(session, application)

    return ctx.write_grouped(write)
