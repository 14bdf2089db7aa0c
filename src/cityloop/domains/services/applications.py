"""The applicant's side of an application: start a draft, fill it in (autosaved, resumable on
any device), hand in materials, submit, answer a supplement request, withdraw, rate."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, forbidden, not_found
from cityloop.base.storage import Storage
from cityloop.domains.services import catalogue, deadlines, events, forms, lifecycle
from cityloop.domains.services.definitions import Audience, ServiceDefinition
from cityloop.domains.services.lifecycle import Setting
from cityloop.domains.services.models import Application, ApplicationMaterial, ApplicationRating
from cityloop.domains.services.workflow import FINISHED, Status
from cityloop.platforms.application.identity import enterprises, realname
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.application.media.documents import Document

MAX_NOTE = 4000


def _require_citizen(actor: Actor) -> None:
    if actor.role != Role.CITIZEN or actor.user_id is None:
        raise forbidden(Message("services.applications_are_filed_signed"))


def own_application(session: Session, *, application_id: int, actor: Actor) -> Application:
    """The actor's own application, or one filed for an enterprise they act for now (404 for
    anyone else's: its existence is not told; 403 once their right to act for it has ended)."""
    application = session.get(Application, application_id)
    if application is None or actor.user_id is None:
        raise not_found("application", application_id)
    if application.enterprise_uscc is not None:
        filed_by_me = application.applicant_id == actor.user_id
        may_act = filed_by_me or any(
            e.uscc == application.enterprise_uscc
            for e, _ in enterprises.my_enterprises(session, user_id=actor.user_id)
        )
        if not may_act:
            raise not_found("application", application_id)
        # An agent whose rights were revoked loses the application at once.
        enterprises.acting_for(session, user_id=actor.user_id, uscc=application.enterprise_uscc)
        return application
    if application.applicant_id != actor.user_id:
        raise not_found("application", application_id)
    return application


def definition_of(session: Session, application: Application) -> ServiceDefinition:
    """The service's rules as they stood when the application was started."""
    return catalogue.definition_at(
        session, code=application.service_code, version=application.service_version
    )


def start(
    session: Session, *, service_code: str, actor: Actor, enterprise_uscc: str | None = None
) -> Application:
    """Open a draft for a service, for the applicant or for an enterprise they act for."""
    _require_citizen(actor)
    service = catalogue.require_service(session, code=service_code)
    if not service.active:
        raise Problem(
            409,
            "service-closed",
            Message("services.service_takes_new_applications", {"service_code": str(service_code)}),
        )
    definition = catalogue.definition_at(
        session, code=service.code, version=service.current_version
    )
    if enterprise_uscc is not None:
        assert actor.user_id is not None
        enterprise_uscc = enterprises.acting_for(
            session, user_id=actor.user_id, uscc=enterprise_uscc
        ).uscc
    wanted = Audience.ENTERPRISE if enterprise_uscc else Audience.PERSON
    if wanted not in definition.audience:
        who = (
            {"who": "an enterprise", "who_zh": "企业"}
            if enterprise_uscc
            else {"who": "a person", "who_zh": "个人"}
        )
        raise Problem(
            422, "wrong-applicant-kind",
            Message("services.not_for_applicant_kind", {"service_code": service_code, **who}),
            field="enterprise" if enterprise_uscc else "service",
        )  # fmt: skip
    application = Application(
        service_code=service.code, service_version=service.current_version,
        applicant_id=actor.user_id, enterprise_uscc=enterprise_uscc, status=Status.DRAFT,
        department_code=definition.department,
        fee_cents=definition.fee.amount_cents if definition.fee else 0,
    )  # fmt: skip
    session.add(application)
    session.flush()
    return application


def save_form(session: Session, *, application_id: int, actor: Actor, form: Any) -> Application:
    """Autosave a draft's answers (checked in full only on submit)."""
    application = own_application(session, application_id=application_id, actor=actor)
    answers = forms.check_draft(form)
    if application.status != Status.DRAFT:
        raise lifecycle.not_allowed(application, "save")
    application.form = answers
    application.updated_at = utcnow()
    return application


def add_material(
    session: Session,
    *,
    application_id: int,
    actor: Actor,
    material_code: str,
    filename: str,
    document: Document,
    storage: Storage,
) -> ApplicationMaterial:
    """Keep a screened document for one of the service's materials (replacing an earlier one)."""
    application = own_application(session, application_id=application_id, actor=actor)
    if application.status not in (Status.DRAFT, Status.SUPPLEMENT):
        raise Problem(
            409, "application-action-not-allowed",
            Message(
                "services.materials_are_handed_draft",
                {
                    "application_status": str(application.status),
                },
            ),
            extra={"status": application.status},
        )  # fmt: skip
    definition = definition_of(session, application)
    material = next((m for m in definition.materials if m.code == material_code), None)
    if material is None:
        known = ", ".join(m.code for m in definition.materials) or "none"
        raise bad_request(
            Message(
                "services.service_asks_material_asks",
                {"material_code": str(material_code), "known": str(known)},
            ),
            field="material",
        )
    if len(document.data) > material.max_bytes:
        raise Problem(
            413,
            "document-too-large",
            Message(
                "services.may_most_bytes",
                {"material_code": str(material_code), "max_bytes": str(material.max_bytes)},
            ),
            field="file",
        )
    accepted = [t.value for t in material.types]
    if document.kind not in accepted:
        raise Problem(
            415,
            "document-type-not-accepted",
            Message(
                "services.material_type_not_accepted",
                {"material_code": str(material_code), "items": ", ".join(accepted)},
            ),
            field="file",
        )
    key = f"materials/{application.id}/{uuid.uuid4().hex}.{document.extension}"
    storage.put(key, document.data, document.content_type)
    for earlier in session.scalars(
        select(ApplicationMaterial).where(
            ApplicationMaterial.application_id == application.id,
            ApplicationMaterial.material_code == material_code,
            ApplicationMaterial.superseded.is_(False),
        )
    ):
        earlier.superseded = True
    row = ApplicationMaterial(
        application_id=application.id, material_code=material_code, media_id=key,
        filename=(filename or material_code)[:200], content_type=document.content_type,
        size=len(document.data),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def material_of(session: Session, *, application_id: int, material_id: int) -> ApplicationMaterial:
    """One document of the application (404 for another application's)."""
    row = session.get(ApplicationMaterial, material_id)
    if row is None or row.application_id != application_id:
        raise not_found("material", material_id)
    return row


def materials_of(session: Session, *, application_id: int) -> list[ApplicationMaterial]:
    """The application's current materials (not the superseded ones)."""
    query = select(ApplicationMaterial).where(
        ApplicationMaterial.application_id == application_id,
        ApplicationMaterial.superseded.is_(False),
    )
    return list(session.scalars(query.order_by(ApplicationMaterial.id)))


def _missing_materials(
    session: Session, application: Application, definition: ServiceDefinition
) -> list[dict[str, str]]:
    present = {m.material_code for m in materials_of(session, application_id=application.id)}
    return [
        {"field": f"materials.{m.code}", "message": "required", "rule": "required"}
        for m in definition.materials
        if m.required and m.code not in present
    ]


def _check_materials(
    session: Session, application: Application, definition: ServiceDefinition
) -> None:
    errors = _missing_materials(session, application, definition)
    if errors:
        codes = ", ".join(e["field"].removeprefix("materials.") for e in errors)
        raise Problem(
            422, "materials-missing", Message("services.hand_required_materials", {"codes": codes}),
            field="materials", extra={"errors": errors},
        )  # fmt: skip


def _check_complete(
    session: Session, application: Application, definition: ServiceDefinition
) -> None:
    """One 422 for everything still wrong: each failing field and each missing material."""
    errors = forms.form_errors(definition, application.form)
    if errors:
        raise forms.invalid_form(errors + _missing_materials(session, application, definition))
    _check_materials(session, application, definition)


def submit(session: Session, *, application_id: int, actor: Actor) -> Application:
    """Hand in a draft whose form passes its schema and which has every required material."""
    application = own_application(session, application_id=application_id, actor=actor)
    if application.status != Status.DRAFT:
        raise lifecycle.not_allowed(application, "submit")
    definition = definition_of(session, application)
    assert actor.user_id is not None
    realname.require_level(session, user_id=actor.user_id, level=definition.realname_level)
    _check_complete(session, application, definition)
    application.submitted_at = utcnow()
    names = {"service": definition.name, "service_zh": definition.name_zh}
    lifecycle.move(
        session, application=application, action="submit", actor=actor,
        message=Message("application.submitted", names),
    )  # fmt: skip
    return application


def answer_supplement(
    session: Session,
    *,
    application_id: int,
    actor: Actor,
    setting: Setting,
    form: Any = None,
    note: str | None = None,
) -> Application:
    """Answer a supplement request (answers, materials): the review and its clock go on."""
    application = own_application(session, application_id=application_id, actor=actor)
    if application.status != Status.SUPPLEMENT:
        raise lifecycle.not_allowed(application, "answer_supplement")
    definition = definition_of(session, application)
    if form is not None:
        answers = forms.check_draft(form)
        forms.check_form(definition, answers)
        application.form = answers
    _check_materials(session, application, definition)
    deadlines.resume(
        session,
        clock=setting.clock,
        application=application,
        days=definition.time_limit_days,
        now=utcnow(),
    )
    lifecycle.move(
        session, application=application, action="answer_supplement", actor=actor,
        message=Message("application.supplement_answered"), note=_note(note),
    )  # fmt: skip
    return application


def withdraw(
    session: Session, *, application_id: int, actor: Actor, note: str | None = None
) -> Application:
    """Withdraw an application the city has not decided yet (a draft is simply dropped)."""
    application = own_application(session, application_id=application_id, actor=actor)
    lifecycle.move(
        session, application=application, action="withdraw", actor=actor,
        message=Message("application.withdrawn"), note=_note(note),
    )  # fmt: skip
    lifecycle.end_open_steps(session, application=application)
    return application


def rate(
    session: Session, *, application_id: int, actor: Actor, score: int, comment: str = ""
) -> ApplicationRating:
    """Rate a finished application once (好差评, 1 to 5)."""
    application = own_application(session, application_id=application_id, actor=actor)
    if application.status not in FINISHED:
        raise lifecycle.not_allowed(application, "rate")
    if not 1 <= score <= 5:
        raise bad_request(Message("services.score_whole_number_from"), field="score")
    if session.get(ApplicationRating, application.id) is not None:
        raise Problem(
            409,
            "already-rated",
            Message("services.application_already_rated", {"application_id": str(application.id)}),
        )
    rating = ApplicationRating(
        application_id=application.id, score=score, comment=_note(comment) or "",
        department_code=application.department_code,
    )  # fmt: skip
    session.add(rating)
    lifecycle.move(
        session, application=application, action="rate", actor=actor, data={"score": score}
    )
    emit(
        session,
        events.ApplicationRated(
            application_id=application.id, department=application.department_code, score=score
        ),
    )
    return rating


def mine(session: Session, *, actor: Actor, status: str | None = None) -> list[Application]:
    """The actor's applications and those of the enterprises they act for, newest first."""
    if actor.user_id is None:
        return []
    acting = [e.uscc for e, _ in enterprises.my_enterprises(session, user_id=actor.user_id)]
    query = select(Application).where(
        (Application.applicant_id == actor.user_id) | Application.enterprise_uscc.in_(acting)
    )
    if status:
        query = query.where(Application.status == status)
    return list(session.scalars(query.order_by(Application.id.desc()).limit(200)))


def _note(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise bad_request(
            Message("services.note_longer_than_characters", {"limit": str(MAX_NOTE)}), field="note"
        )
    return text or None
