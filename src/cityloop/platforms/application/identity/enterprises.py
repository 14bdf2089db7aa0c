"""Enterprises (法人) and the citizens who may act for them.

An enterprise is its registration, keyed by the unified social credit code. Its legal
representative is the citizen whose level-2 identity number equals the one the registration
names; they may authorise other citizen accounts as agents (经办人) and revoke them. A revoked
agent's rights end at once: :func:`acting_for`, which the services domain calls on every action
done for an enterprise, reads the grant in the same transaction as the action.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import Problem, bad_request, conflict, forbidden, not_found
from cityloop.platforms.application.identity import numbers
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import (
    Enterprise,
    EnterpriseAgent,
    RealName,
    User,
)
from cityloop.platforms.application.identity.realname import level_of, personal_data_read
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor, audit, get_user, user_named

Relation = Literal["legal_representative", "agent"]
STATUSES = ("active", "revoked", "cancelled")  # 存续, 吊销, 注销


def register_enterprise(
    session: Session,
    *,
    uscc: str,
    name: str,
    legal_rep_name: str,
    legal_rep_id_number: str,
    registered_on: date,
    name_en: str = "",
    address: str = "",
    registered_capital_yuan: int = 0,
    business_scope: str = "",
    status: str = "active",
) -> Enterprise:
    """Add or update an enterprise's registration after checking both numbers."""
    code = numbers.check_uscc(uscc)
    rep_number, _born = numbers.check_id_number(legal_rep_id_number, field="legal_rep_id_number")
    if status not in STATUSES:
        raise bad_request(
            Message("identity.bad_enterprise_status", {"statuses": ", ".join(STATUSES)}), "status"
        )
    if registered_capital_yuan < 0:
        raise bad_request(Message("identity.negative_capital"), "registered_capital_yuan")
    enterprise = session.get(Enterprise, code) or Enterprise(uscc=code)
    enterprise.name, enterprise.name_en = name, name_en
    enterprise.legal_rep_name, enterprise.legal_rep_id_number = legal_rep_name, rep_number
    enterprise.address, enterprise.business_scope = address, business_scope
    enterprise.registered_capital_yuan = registered_capital_yuan
    enterprise.registered_on, enterprise.status = registered_on, status
    session.add(enterprise)
    session.flush()
    return enterprise


def enterprise(session: Session, *, uscc: str) -> Enterprise:
    """The enterprise with this code; 400 for a malformed code, 404 for an unknown one."""
    code = numbers.check_uscc(uscc)
    found = session.get(Enterprise, code)
    if found is None:
        raise not_found("enterprise", code)
    return found


def _verified_number(session: Session, user_id: int) -> str | None:
    record = session.get(RealName, user_id)
    return record.id_number if level_of(record) >= 2 and record is not None else None


def is_legal_representative(session: Session, *, user_id: int, uscc: str) -> bool:
    """Whether the account's level-2 identity number is the enterprise's legal representative's."""
    number = _verified_number(session, user_id)
    found = session.get(Enterprise, uscc)
    return number is not None and found is not None and found.legal_rep_id_number == number


def _active_grant(session: Session, *, uscc: str, user_id: int) -> EnterpriseAgent | None:
    return session.scalar(
        select(EnterpriseAgent)
        .where(
            EnterpriseAgent.uscc == uscc,
            EnterpriseAgent.user_id == user_id,
            EnterpriseAgent.revoked_at.is_(None),
        )
        .limit(1)
    )


def acting_for(session: Session, *, user_id: int, uscc: str) -> Enterprise:
    """The enterprise, when the account is its legal representative or an active agent; else 403."""
    found = enterprise(session, uscc=uscc)
    if is_legal_representative(session, user_id=user_id, uscc=found.uscc):
        return found
    if _active_grant(session, uscc=found.uscc, user_id=user_id) is not None:
        return found
    raise Problem(
        403,
        "not-authorised-for-enterprise",
        Message("identity.not_for_enterprise", {"uscc": found.uscc}),
    )


def my_enterprises(session: Session, *, user_id: int) -> list[tuple[Enterprise, Relation]]:
    """The enterprises the account may act for, and why."""
    found: dict[str, tuple[Enterprise, Relation]] = {}
    number = _verified_number(session, user_id)
    if number is not None:
        for row in session.scalars(
            select(Enterprise).where(Enterprise.legal_rep_id_number == number)
        ):
            found[row.uscc] = (row, "legal_representative")
    for row in session.scalars(
        select(Enterprise)
        .join(EnterpriseAgent, EnterpriseAgent.uscc == Enterprise.uscc)
        .where(EnterpriseAgent.user_id == user_id, EnterpriseAgent.revoked_at.is_(None))
    ):
        found.setdefault(row.uscc, (row, "agent"))
    return sorted(found.values(), key=lambda pair: pair[0].uscc)


def _as_representative(session: Session, *, actor: Actor, uscc: str) -> Enterprise:
    found = enterprise(session, uscc=uscc)
    if actor.user_id is None or not is_legal_representative(
        session, user_id=actor.user_id, uscc=found.uscc
    ):
        raise forbidden(Message("identity.only_legal_rep", {"uscc": found.uscc}))
    return found


def agents(session: Session, *, actor: Actor, uscc: str) -> list[tuple[EnterpriseAgent, User]]:
    """Every grant of the enterprise, revoked ones included, newest first (representative only)."""
    found = _as_representative(session, actor=actor, uscc=uscc)
    rows = session.execute(
        select(EnterpriseAgent, User)
        .join(User, User.id == EnterpriseAgent.user_id)
        .where(EnterpriseAgent.uscc == found.uscc)
        .order_by(EnterpriseAgent.id.desc())
    )
    return [(grant, user) for grant, user in rows]


def grant_agent(session: Session, *, actor: Actor, uscc: str, username: str) -> EnterpriseAgent:
    """Authorise a citizen account to act for the enterprise; audited."""
    found = _as_representative(session, actor=actor, uscc=uscc)
    agent = user_named(session, username=username)
    if agent.id == actor.user_id:
        raise bad_request(Message("identity.agent_is_self"), "username")
    if agent.role != Role.CITIZEN or not agent.active:
        raise bad_request(
            Message("identity.not_active_citizen", {"username": agent.username}), "username"
        )
    if _active_grant(session, uscc=found.uscc, user_id=agent.id) is not None:
        raise conflict(
            Message("identity.already_agent", {"username": agent.username, "uscc": found.uscc}),
            "already-agent",
        )
    grant = EnterpriseAgent(
        uscc=found.uscc, user_id=agent.id, granted_by=actor.username, granted_at=utcnow()
    )
    session.add(grant)
    session.flush()
    audit(
        session,
        actor=actor,
        action="enterprise.agent_grant",
        target=f"enterprise:{found.uscc}",
        detail={"agent": agent.username, "grant": grant.id},
    )
    return grant


def revoke_agent(session: Session, *, actor: Actor, uscc: str, grant_id: int) -> EnterpriseAgent:
    """End an agent's rights at once; audited. Revoking twice is a 409."""
    found = _as_representative(session, actor=actor, uscc=uscc)
    grant = session.get(EnterpriseAgent, grant_id, with_for_update=True)
    if grant is None or grant.uscc != found.uscc:
        raise not_found("agent grant", grant_id)
    if grant.revoked_at is not None:
        raise conflict(
            Message("identity.grant_already_revoked", {"grant": str(grant_id)}), "already-revoked"
        )
    grant.revoked_at, grant.revoked_by = utcnow(), actor.username
    session.flush()
    audit(
        session,
        actor=actor,
        action="enterprise.agent_revoke",
        target=f"enterprise:{found.uscc}",
        detail={"agent": get_user(session, user_id=grant.user_id).username, "grant": grant.id},
    )
    return grant


def staff_lookup(session: Session, *, actor: Actor, uscc: str) -> Enterprise:
    """An enterprise's registration for staff (the representative's number masked); audited,
    and in the enterprise's access log."""
    found = enterprise(session, uscc=uscc)
    audit(session, actor=actor, action="enterprise.lookup", target=f"enterprise:{found.uscc}")
    personal_data_read(
        session,
        enterprise_uscc=found.uscc,
        actor=actor,
        fields=["enterprise_registration"],
        purpose="enterprise_check",
        reference=f"enterprise:{found.uscc}",
    )
    return found
