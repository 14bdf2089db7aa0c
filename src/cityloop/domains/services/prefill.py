"""Once only (一次不用跑): fill a draft's fields from what the city already holds — the applicant's
verified profile, the enterprise's registration, the licences the applicant holds — only with
the applicant's consent, and every read written to the access log the applicant can see."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import Problem
from cityloop.domains.services import lifecycle
from cityloop.domains.services.applications import definition_of, own_application
from cityloop.domains.services.catalogue import definition_at
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.models import Application
from cityloop.domains.services.presenters import number
from cityloop.domains.services.workflow import Status
from cityloop.platforms.application.identity import enterprises, realname
from cityloop.platforms.application.identity.service import Actor, get_user
from cityloop.platforms.data.access.service import record_access

# The access log's name for each profile source (its field catalogue names them for citizens).
_PROFILE_FIELDS = {
    "legal_name": "legal_name", "id_number": "id_number", "birth_date": "birth_date",
    "phone": "phone", "email": "email",
}  # fmt: skip


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


def _values(
    session: Session, application: Application, definition: ServiceDefinition
) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """(field -> value, field -> source, access-log field codes) for what can be filled."""
    user_id = application.applicant_id
    record = realname.record_of(session, user_id=user_id)
    verified = realname.level_of(record) >= 2 and record is not None
    profile: dict[str, Any] = {}
    if verified and record is not None:
        profile = {
            "legal_name": record.legal_name, "id_number": record.id_number,
            "birth_date": record.birth_date.isoformat() if record.birth_date else None,
            "phone": record.phone,
        }  # fmt: skip
    profile["email"] = get_user(session, user_id=user_id).email
    firm = None
    if application.enterprise_uscc:
        found = enterprises.enterprise(session, uscc=application.enterprise_uscc)
        firm = {
            "uscc": found.uscc, "name": found.name, "legal_representative": found.legal_rep_name,
            "address": found.address, "business_scope": found.business_scope,
            "registered_capital": f"{found.registered_capital_yuan} 元",
        }  # fmt: skip
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    read: set[str] = set()
    for field, source in definition.prefill.items():
        kind, _, name = source.partition(".")
        value = None
        if kind == "profile":
            value = profile.get(name)
            read.add(_PROFILE_FIELDS[name])
        elif kind == "enterprise" and firm is not None:
            value = firm.get(name)
            read.add("enterprise_registration")
        elif kind == "licence":
            licence_type, _, claim = name.partition(".")
            value = _held_licence_claims(session, user_id=user_id, licence_type=licence_type).get(
                claim
            )
            read.add("licences")
        if value not in (None, ""):
            values[field], sources[field] = value, source
    return values, sources, read


def prefill(session: Session, *, application_id: int, actor: Actor, consent: bool) -> Application:
    """Fill the draft's prefillable fields from the city's records, on the applicant's consent;
    fields the applicant already typed are kept."""
    application = own_application(session, application_id=application_id, actor=actor)
    if application.status != Status.DRAFT:
        raise lifecycle.not_allowed(application, "save")
    if consent is not True:
        raise Problem(
            422, "consent-required",
            "prefilling reads your records: send consent: true to allow it for this application",
            field="consent",
        )  # fmt: skip
    definition = definition_of(session, application)
    if not definition.prefill:
        raise Problem(409, "nothing-to-prefill", f"service {definition.code} prefills no field")
    values, sources, read = _values(session, application, definition)
    now = utcnow()
    consent_id = f"application:{application.id}:prefill:{uuid.uuid4().hex[:12]}"
    form = dict(application.form)
    filled: dict[str, Any] = dict(application.prefilled)
    for field, value in values.items():
        if form.get(field) in (None, ""):
            form[field] = value
        filled[field] = {"source": sources[field], "at": now.isoformat(), "consent": consent_id}
    application.form = form
    application.prefilled = filled
    application.updated_at = now
    if read:
        record_access(
            session, user_id=application.applicant_id, actor="system:prefill",
            actor_role="system", fields=sorted(read), purpose="prefill",
            reference=f"application:{application.id}", legal_basis="consent",
            consent_id=consent_id, consent_at=now,
        )  # fmt: skip
    return application
