"""E-licences (电子证照): what an approval issues on the credentials platform, the applicant's
wallet (证照夹), presentations that disclose only the claims chosen, and revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message
from cityloop.base.problems import Problem, bad_request, not_found
from cityloop.domains.services import lifecycle
from cityloop.domains.services.applications import definition_of
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.lifecycle import LicenceIssuer
from cityloop.domains.services.models import Application
from cityloop.domains.services.prefill import licence_claims
from cityloop.domains.services.workflow import Status, require_department_staff
from cityloop.platforms.application.credentials import service as credentials
from cityloop.platforms.application.credentials.models import Credential
from cityloop.platforms.application.credentials.service import Authority
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access.service import record_access

VERIFY_PATH = "/app/verify"


def vct(authority: Authority, licence_type: str) -> str:
    """The credential type of a licence: a URL under the city's public base."""
    return f"{authority.base_url}/vct/{licence_type}"


def issuer_for(authority: Authority) -> LicenceIssuer:
    """The workflow's licence issuer: the responsible department signs the applicant's licence."""

    def issue(
        session: Session, application: Application, definition: ServiceDefinition
    ) -> tuple[str, str]:
        licence = definition.licence
        assert licence is not None
        now = utcnow()
        claims = licence_claims(session, application, definition)
        issued = credentials.issue(
            session, authority=authority, issuer=definition.department,
            vct=vct(authority, licence.type), claims=claims,
            disclosable=[c for c in licence.disclosable if c in claims],
            subject_ref=f"application:{application.id}",
            expires_at=now + timedelta(days=licence.valid_days), now=now,
        )  # fmt: skip
        record_access(
            session, user_id=application.applicant_id, actor="system:licence_issue",
            actor_role="system", fields=["application"], purpose="licence_issue",
            reference=f"application:{application.id}",
        )  # fmt: skip
        if application.enterprise_uscc is not None:  # the enterprise's licence: it sees it too
            record_access(
                session, enterprise_uscc=application.enterprise_uscc,
                actor="system:licence_issue", actor_role="system", fields=["application"],
                purpose="licence_issue", reference=f"application:{application.id}",
            )  # fmt: skip
        return issued.credential.id, issued.sd_jwt

    return issue


@dataclass(frozen=True)
class Held:
    """A licence in the wallet: the application it came from, its record and its claims."""

    application: Application
    definition: ServiceDefinition
    credential: Credential
    visible: dict[str, Any]
    disclosable: dict[str, Any]


def _held(session: Session, application: Application) -> Held:
    assert application.licence_id and application.licence_token
    definition = definition_of(session, application)
    record = credentials.get_credential(session, credential_id=application.licence_id)
    view = credentials.holder_view(application.licence_token)
    return Held(application, definition, record, view.visible, view.disclosable)


def wallet(session: Session, *, actor: Actor) -> list[Held]:
    """The licences the actor holds, newest first."""
    if actor.user_id is None:
        return []
    query = (
        select(Application)
        .where(Application.applicant_id == actor.user_id, Application.licence_id.is_not(None))
        .order_by(Application.id.desc())
    )
    return [_held(session, a) for a in session.scalars(query)]


def held(session: Session, *, application_id: int, actor: Actor) -> Held:
    """One licence of the actor's (404 for anyone else's)."""
    application = session.get(Application, application_id)
    if (
        application is None
        or application.applicant_id != actor.user_id
        or not application.licence_id
    ):
        raise not_found("licence", application_id)
    return _held(session, application)


def presentation(
    session: Session, *, application_id: int, actor: Actor, disclose: list[str]
) -> str:
    """A presentation of one licence that discloses only the claims named (the others stay
    hidden; claims that are always shown are shown)."""
    return present(held(session, application_id=application_id, actor=actor), disclose=disclose)


def present(licence: Held, *, disclose: list[str]) -> str:
    """A presentation of a held licence disclosing only the claims named (400 for a claim it
    does not have)."""
    unknown = sorted(set(disclose) - set(licence.disclosable))
    if unknown:
        raise bad_request(
            Message("services.licence_claim_disclose_named", {"items": ", ".join(unknown)}),
            field="disclose",
        )
    assert licence.application.licence_token is not None
    return credentials.present(licence.application.licence_token, disclose=disclose)


def revoke(session: Session, *, application_id: int, actor: Actor, reason: str) -> Application:
    """Revoke an issued licence (吊销/注销): its status bit is set; verifiers refuse it from the
    next status list they fetch. The responsible department's staff or an admin."""
    application = session.get(Application, application_id)
    if application is None or not application.licence_id:
        raise not_found("licence", application_id)
    require_department_staff(actor, application.department_code)
    text = (reason or "").strip()
    if not text or len(text) > 500:
        raise bad_request(Message("services.reason_required_most_characters"), field="reason")
    if application.status != Status.ISSUED:
        raise lifecycle.not_allowed(application, "revoke_licence")
    record = credentials.get_credential(session, credential_id=application.licence_id)
    if record.revoked_at is not None:
        raise Problem(
            409,
            "licence-revoked",
            Message(
                "services.licence_application_already_revoked",
                {"application_id": str(application.id)},
            ),
        )
    credentials.revoke(session, credential_id=record.id, actor=actor, reason=text)
    lifecycle.move(
        session, application=application, action="revoke_licence", actor=actor, note=text,
        message=Message("application.licence_revoked", {"reason": text}),
    )  # fmt: skip
    identity.audit(
        session,
        actor=actor,
        action="application.revoke_licence",
        target=f"application:{application.id}",
    )
    return application
