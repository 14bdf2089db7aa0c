"""Build the services routes' answers from rows (one home for what each reader may see)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cityloop.base.contracts import Named
from cityloop.base.db import iso
from cityloop.domains.services import applications, lifecycle, timeline
from cityloop.domains.services import responses as out
from cityloop.domains.services.catalogue import definition_at
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.models import (
    Application,
    ApplicationEvent,
    ApplicationRating,
    ApplicationStep,
    Service,
)
from cityloop.domains.services.workflow import APPLICATION_WORKFLOW, Party, Status
from cityloop.platforms.application.identity import service as identity

if TYPE_CHECKING:
    from cityloop.domains.services.prefill import Gap


class Departments:
    """Department names, looked up once per answer."""

    def __init__(self, session: Session) -> None:
        self._names = {d.code: d for d in identity.list_departments(session)}

    def __call__(self, code: str) -> Named:
        found = self._names.get(code)
        if found is None:
            return Named(code=code, name=code, name_zh=code)
        return Named(code=code, name=found.name, name_zh=found.name_zh or found.name)


# The names of the claims a licence takes from outside its form (a form's claims take the title
# of their field): the holder reads them in the wallet, next to the values.
_CLAIM_NAMES = {
    "application.number": ("Number", "编号"),
    "applicant.name": ("Holder", "持证人"),
    "enterprise.name": ("Enterprise", "企业名称"),
    "enterprise.uscc": ("Unified social credit code", "统一社会信用代码"),
    "service.name": ("Licence", "许可事项"),
}


def claim_labels(definition: ServiceDefinition) -> dict[str, out.ClaimLabel]:
    """Each licence claim's name in English and Chinese, and the names of its coded values."""
    if definition.licence is None:
        return {}
    fields = definition.form.json_schema.get("properties") or {}
    labels: dict[str, out.ClaimLabel] = {}
    for claim, source in definition.licence.claims.items():
        kind, _, field = source.partition(".")
        prop = fields.get(field) if kind == "form" else None
        if isinstance(prop, dict):
            name = str(prop.get("title") or claim)
            name_zh = str(prop.get("x-title-zh") or name)
        else:
            name, name_zh = _CLAIM_NAMES.get(source, (claim, claim))
        choices = (prop.get("oneOf") or []) if isinstance(prop, dict) else []
        values = {
            str(c["const"]): out.ValueName(
                name=str(c.get("title") or c["const"]),
                name_zh=str(c.get("x-title-zh") or c.get("title") or c["const"]),
            )
            for c in choices
            if isinstance(c, dict) and "const" in c
        }
        labels[claim] = out.ClaimLabel(name=name, name_zh=name_zh, values=values)
    return labels


def number(application: Application) -> str:
    """The application's reference as citizens and counters quote it (办件编号)."""
    return f"SV-{application.created_at:%Y}-{application.id:06d}"


def service_summary(
    service: Service, definition: ServiceDefinition, names: Departments
) -> out.ServiceSummary:
    return out.ServiceSummary(**_summary_fields(service, definition, names))


def _summary_fields(
    service: Service, definition: ServiceDefinition, names: Departments
) -> dict[str, object]:
    return {
        "code": service.code, "version": service.current_version, "active": service.active,
        "name": definition.name, "name_zh": definition.name_zh,
        "description": definition.description, "description_zh": definition.description_zh,
        "topics": definition.topics, "audience": [a.value for a in definition.audience],
        "department": names(definition.department), "online_level": definition.online_level.value,
        "in_person": definition.in_person, "realname_level": definition.realname_level,
        "time_limit_days": definition.time_limit_days,
        "fee_cents": definition.fee.amount_cents if definition.fee else 0,
    }  # fmt: skip


def service_guide(
    service: Service, definition: ServiceDefinition, names: Departments
) -> out.ServiceGuide:
    licence = definition.licence
    return out.ServiceGuide(
        **_summary_fields(service, definition, names),
        co_approvers=[names(code) for code in definition.co_approvers],
        materials=[out.MaterialRule(**m.model_dump(mode="json")) for m in definition.materials],
        fee=out.Fee(**definition.fee.model_dump()) if definition.fee else None,
        form_schema=definition.form.json_schema,
        ui_schema=definition.form.ui_schema,
        prefill=dict(definition.prefill),
        workflow=[
            out.Stage(departments=[names(d) for d in stage.departments], days=stage.days)
            for stage in definition.workflow
        ],
        supplements_per_step=definition.supplements_per_step,
        licence=out.LicenceRule(
            type=licence.type, name=licence.name, name_zh=licence.name_zh,
            valid_days=licence.valid_days, claims=list(licence.claims),
            disclosable=licence.disclosable,
        ) if licence else None,
        legal_basis=definition.legal_basis,
        legal_basis_zh=definition.legal_basis_zh,
    )  # fmt: skip


def _definition(session: Session, application: Application) -> ServiceDefinition:
    return definition_at(
        session, code=application.service_code, version=application.service_version
    )


def application_summary(session: Session, application: Application) -> out.ApplicationSummary:
    definition = _definition(session, application)
    return out.ApplicationSummary(**_summary(application, definition))


def _summary(application: Application, definition: ServiceDefinition) -> dict[str, object]:
    return {
        "id": application.id, "number": number(application), "service": application.service_code,
        "service_name": definition.name, "service_name_zh": definition.name_zh,
        "status": application.status, "enterprise_uscc": application.enterprise_uscc,
        "created_at": iso(application.created_at), "updated_at": iso(application.updated_at),
        "submitted_at": iso(application.submitted_at), "due_at": iso(application.due_at),
    }  # fmt: skip


def _step(step: ApplicationStep, names: Departments) -> out.Step:
    return out.Step(
        id=step.id, stage=step.stage, department=names(step.department_code),
        status=step.status, days=step.days, started_at=iso(step.started_at),  # type: ignore[arg-type]
        due_at=iso(step.due_at), decided_at=iso(step.decided_at), overdue=step.overdue,
        supplements_used=step.supplements_used, supplements_allowed=step.supplements_allowed,
    )  # fmt: skip


def _row(row: ApplicationEvent) -> dict[str, object]:
    message = timeline.message_of(row)
    return {
        "id": row.id, "at": iso(row.at), "action": row.action, "status": row.to_status,
        "department": row.department_code,
        "message": message.render("en") if message else None,
        "message_zh": message.render("zh-CN") if message else None,
        "note": row.note,
    }  # fmt: skip


def _applicant_actions(application: Application) -> list[str]:
    return [
        action
        for action in APPLICATION_WORKFLOW.actions_from(application.status)
        if APPLICATION_WORKFLOW.find(application.status, action).party is Party.APPLICANT  # type: ignore[union-attr]
    ]


def _application_fields(session: Session, application: Application) -> dict[str, object]:
    definition = _definition(session, application)
    names = Departments(session)
    rows = timeline.timeline(session, application_id=application.id, public_only=False)
    supplement: list[str] = []
    if application.status == Status.SUPPLEMENT:
        asked = [r for r in rows if r.action == "request_supplement"]
        supplement = list(asked[-1].data.get("items") or []) if asked else []
    rating = session.get(ApplicationRating, application.id)
    steps = lifecycle.steps_of(session, application_id=application.id)
    rated = (
        out.Rating(score=rating.score, comment=rating.comment, at=iso(rating.at) or "")
        if rating
        else None
    )
    return {
        **_summary(application, definition),
        "service_version": application.service_version,
        "form": application.form, "prefilled": application.prefilled,
        "department": names(application.department_code),
        "accepted_at": iso(application.accepted_at), "decided_at": iso(application.decided_at),
        "paused": bool(application.pauses and application.pauses[-1][1] is None),
        "fee_cents": application.fee_cents, "fee_paid_at": iso(application.fee_paid_at),
        "materials": [
            out.Material(
                id=m.id, material_code=m.material_code, filename=m.filename,
                content_type=m.content_type, size=m.size, uploaded_at=iso(m.uploaded_at),  # type: ignore[arg-type]
            )
            for m in applications.materials_of(session, application_id=application.id)
        ],
        "steps": [_step(s, names) for s in steps],
        "timeline": [out.ApplicationTimelineRow(**_row(r)) for r in rows if r.public],  # type: ignore[arg-type]
        "supplement_items": supplement,
        "licence_id": application.licence_id,
        "rating": rated,
        "actions": _applicant_actions(application),
        "_rows": rows,
    }  # fmt: skip


def applicant_application(session: Session, application: Application) -> out.Application:
    fields = _application_fields(session, application)
    fields.pop("_rows")
    return out.Application(**fields)  # type: ignore[arg-type]


def prefill_answer(
    session: Session, application: Application, gaps: Sequence[Gap]
) -> out.PrefillAnswer:
    fields = _application_fields(session, application)
    fields.pop("_rows")
    not_filled = [
        out.PrefillGap(
            fields=gap.fields,
            source=gap.source,
            reason=gap.reason,
            message=gap.message.render("en"),
            message_zh=gap.message.render("zh-CN"),
        )
        for gap in gaps
    ]
    return out.PrefillAnswer(**fields, not_filled=not_filled)  # type: ignore[arg-type]


def staff_application(session: Session, application: Application) -> out.StaffApplication:
    fields = _application_fields(session, application)
    rows: list[ApplicationEvent] = fields.pop("_rows")  # type: ignore[assignment]
    return out.StaffApplication(
        **fields,  # type: ignore[arg-type]
        applicant_id=application.applicant_id,
        fee_receipt=application.fee_receipt,
        staff_timeline=[
            out.ApplicationStaffTimelineRow(
                **_row(r),
                actor=r.actor,
                actor_role=r.actor_role,
                public=r.public,
                data=r.data,  # type: ignore[arg-type]
            )
            for r in rows
        ],
    )
