"""Once only (一次不用跑): fill a draft's fields from what the city already holds — the applicant's
verified profile, the enterprise's registration, the licences the applicant holds — only with
the applicant's consent, and every read written to the access log the applicant can see.

Profiles and registrations belong to other departments (public security, market regulation):
they are read through the sharing platform's lookups, under the grant the service's department
holds, so a department without one fills nothing from them and the answer says why."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message
from cityloop.base.problems import Problem
from cityloop.domains.services import lifecycle
from cityloop.domains.services.applications import definition_of, own_application
from cityloop.domains.services.catalogue import definition_at
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.models import Application
from cityloop.domains.services.presenters import number
from cityloop.domains.services.workflow import Status
from cityloop.platforms.application.identity import enterprises, realname
from cityloop.platforms.application.identity.roles import Caller
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access.service import record_access
from cityloop.platforms.data.sharing import reads as sharing


def licence_claims(
    session: Session, application: Application, definition: ServiceDefinition
) -> dict[str, Any]:
    """The claims of the licence an application earns, from its form and its parties."""
    assert definition.licence is not None
    applicant = realname.record_of(session, user_id=application.applicant_id)
    firm = (
        enterprises.enterprise(session, uscc=application.enterprise_uscc)
        if application.enterprise_uscc
        else None
    )
    known: dict[str, Any] = {
        "application.number": number(application),
        "applicant.name": applicant.legal_name if applicant else None,
        "enterprise.name": firm.name if firm else None,
        "enterprise.uscc": firm.uscc if firm else None,
        "service.name": definition.name_zh,
    }
    claims: dict[str, Any] = {}
    for claim, source in definition.licence.claims.items():
        kind, _, field = source.partition(".")
        value = application.form.get(field) if kind == "form" else known.get(source)
        if value is not None:
            claims[claim] = value
    return claims


def _held_licence_claims(session: Session, *, user_id: int, licence_type: str) -> dict[str, Any]:
    """The claims of the newest licence of a type the applicant holds, if any."""
    query = (
        select(Application)
        .where(Application.applicant_id == user_id, Application.status == Status.ISSUED)
        .order_by(Application.id.desc())
        .limit(50)
    )
    for held in session.scalars(query):
        definition = definition_at(session, code=held.service_code, version=held.service_version)
        if definition.licence and definition.licence.type == licence_type:
            return licence_claims(session, held, definition)
    return {}


@dataclass(frozen=True)
class Gap:
    """Form fields prefill left empty because the service's department may not read their
    source, and why, in both languages (the sharing platform's refusal)."""

    fields: list[str]
    source: str
    reason: str
    message: Message


@dataclass(frozen=True)
class Prefilled:
    application: Application
    gaps: list[Gap] = field(default_factory=list)


# The sharing platform's lookup behind each kind of prefill source.
_LOOKUPS = {"profile": "person-profile", "enterprise": "enterprise-profile"}


def _through_grant(
    session: Session,
    *,
    kind: str,
    wanted: dict[str, str],
    params: dict[str, Any],
    department: str,
    reference: str,
    consent_id: str,
    at: datetime,
) -> tuple[dict[str, Any], list[Gap]]:
    """Read a source's fields through the sharing platform, under the grant the service's
    department holds (the access-log entry names it): (answer, what was left out and why)."""
    asked = list(dict.fromkeys(wanted.values()))
    system = Actor(None, "system", Caller.SYSTEM, department)
    try:
        result = sharing.lookup(
            session, name=_LOOKUPS[kind], params=params, actor=system, department=department,
            fields=asked, drop_ungranted=True, purpose="prefill", reference=reference,
            legal_basis="consent", consent_id=consent_id, consent_at=at,
        )  # fmt: skip
    except sharing.Refusal as refusal:
        return {}, [Gap(sorted(wanted), kind, refusal.reason, refusal.message)]
    gaps = []
    if result.withheld and result.withheld_because is not None:
        left = sorted(f for f, name in wanted.items() if name in result.withheld)
        because = result.withheld_because
        gaps.append(Gap(left, kind, because.reason, because.message))
    return result.answer, gaps


def _values(
    session: Session,
    application: Application,
    definition: ServiceDefinition,
    *,
    consent_id: str,
    at: datetime,
) -> tuple[dict[str, Any], dict[str, str], list[Gap]]:
    """(field -> value, field -> source, what could not be read and why) for what can be
    filled. People's profiles and enterprise registrations are other departments' data, read
    under a grant; the licences the applicant holds are this domain's own records."""
    wanted: dict[str, dict[str, str]] = {}
    for form_field, source in definition.prefill.items():
        kind, _, name = source.partition(".")
        wanted.setdefault(kind, {})[form_field] = name
    reference = f"application:{application.id}"
    common = {"department": definition.department, "reference": reference,
              "consent_id": consent_id, "at": at}  # fmt: skip
    read: dict[str, dict[str, Any]] = {}
    gaps: list[Gap] = []
    if wanted.get("profile"):
        read["profile"], missing = _through_grant(
            session, kind="profile", wanted=wanted["profile"],
            params={"user_id": application.applicant_id}, **common,
        )  # fmt: skip
        gaps += missing
    if wanted.get("enterprise") and application.enterprise_uscc:
        read["enterprise"], missing = _through_grant(
            session, kind="enterprise", wanted=wanted["enterprise"],
            params={"uscc": application.enterprise_uscc}, **common,
        )  # fmt: skip
        gaps += missing
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for kind, fields in wanted.items():
        for form_field, name in fields.items():
            if kind == "licence":
                licence_type, _, claim = name.partition(".")
                held = _held_licence_claims(
                    session, user_id=application.applicant_id, licence_type=licence_type
                )
                value = held.get(claim)
            else:
                value = read.get(kind, {}).get(name)
            if value not in (None, ""):
                values[form_field], sources[form_field] = value, f"{kind}.{name}"
    if wanted.get("licence"):
        record_access(
            session, user_id=application.applicant_id, actor="system:prefill",
            actor_role="system", actor_department=definition.department, fields=["licences"],
            purpose="prefill", reference=reference, legal_basis="consent",
            consent_id=consent_id, consent_at=at,
        )  # fmt: skip
    return values, sources, gaps


def prefill(session: Session, *, application_id: int, actor: Actor, consent: bool) -> Prefilled:
    """Fill the draft's prefillable fields from the city's records, on the applicant's consent;
    fields the applicant already typed are kept. Fields whose source the service's department
    holds no grant for stay empty, and the answer says why."""
    application = own_application(session, application_id=application_id, actor=actor)
    if application.status != Status.DRAFT:
        raise lifecycle.not_allowed(application, "save")
    if consent is not True:
        raise Problem(
            422, "consent-required",
            Message("services.prefilling_reads_records_send"),
            field="consent",
        )  # fmt: skip
    definition = definition_of(session, application)
    if not definition.prefill:
        raise Problem(
            409,
            "nothing-to-prefill",
            Message("services.service_prefills_field", {"definition_code": str(definition.code)}),
        )
    now = utcnow()
    consent_id = f"application:{application.id}:prefill:{uuid.uuid4().hex[:12]}"
    values, sources, gaps = _values(session, application, definition, consent_id=consent_id, at=now)
    form = dict(application.form)
    filled: dict[str, Any] = dict(application.prefilled)
    for form_field, value in values.items():
        if form.get(form_field) in (None, ""):
            form[form_field] = value
        filled[form_field] = {
            "source": sources[form_field], "at": now.isoformat(), "consent": consent_id,
        }  # fmt: skip
    application.form = form
    application.prefilled = filled
    application.updated_at = now
    return Prefilled(application, gaps)
