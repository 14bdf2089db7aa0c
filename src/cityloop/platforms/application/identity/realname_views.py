"""Real-name levels and enterprises over HTTP: the citizen's own identity, phone codes, the
counter's level-3 check, staff lists and lookups, and the enterprise agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity import enterprises, numbers, realname, service
from cityloop.platforms.application.identity.deps import current_staff, require_roles, staff_actor
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.realname_schemas import (
    AgentGrantIn,
    AgentOut,
    CitizenRow,
    CodeSentOut,
    CounterCitizen,
    CounterVerifyIn,
    EnterpriseOut,
    IdentityIn,
    MyEnterprise,
    MyIdentity,
    PhoneCodeIn,
    PhoneConfirmIn,
    agent_out,
    citizen_row,
    counter_citizen,
    enterprise_out,
    my_identity,
)
from cityloop.platforms.application.identity.roles import COUNTER_ROLES, IDENTITY_READERS
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["identity"])
Ctx = Annotated[AppContext, Depends(get_context)]
Person = Annotated[User, Depends(current_staff(allow_citizen=True))]
UsccPath = Annotated[str, Path(min_length=1, max_length=40)]
CounterStaff = Annotated[Actor, Depends(require_roles(*COUNTER_ROLES))]


@router.get("/me/identity", response_model=MyIdentity)
def my_identity_route(ctx: Ctx, user: Person) -> MyIdentity:
    """My real-name record: what I have verified and at which level. Only ever my own."""
    with ctx.reading() as session:
        return my_identity(realname.record_of(session, user_id=user.id))


@router.post("/me/identity", response_model=MyIdentity)
def submit_identity(ctx: Ctx, user: Person, body: IdentityIn) -> MyIdentity:
    """Give your legal name and identity number: half of real-name level 2."""
    with ctx.writing() as session:
        record = realname.submit_identity(
            session, user_id=user.id, legal_name=body.legal_name, id_number=body.id_number
        )
        return my_identity(record)


@router.post(
    "/me/identity/phone-code",
    response_model=CodeSentOut,
    status_code=202,
    responses={429: {"description": "a code was asked for too recently or too often"}},
)
def request_phone_code(ctx: Ctx, user: Person, body: PhoneCodeIn) -> CodeSentOut:
    """Send a 6-digit code to a phone (by text message); it lasts 10 minutes and 5 tries."""
    with ctx.writing() as session:
        sent = realname.request_phone_code(
            session, user_id=user.id, secret=ctx.settings.resolved_secret_key, phone=body.phone
        )
    return CodeSentOut(
        sent_to=numbers.mask_phone(sent.phone) or "",
        expires_at=sent.expires_at.isoformat(),
        expires_in=realname.CODE_MINUTES * 60,
    )


@router.post("/me/identity/phone", response_model=MyIdentity)
def confirm_phone(ctx: Ctx, user: Person, body: PhoneConfirmIn) -> MyIdentity:
    """Type in the code: the phone is verified (the other half of level 2)."""
    # A wrong code must count even though the answer is an error: commit first, then refuse.
    with ctx.writing() as session:
        outcome = realname.confirm_phone_code(
            session, user_id=user.id, secret=ctx.settings.resolved_secret_key, code=body.code
        )
        tries = realname.tries_left(session, user_id=user.id)
        answer = my_identity(realname.record_of(session, user_id=user.id))
    if outcome is not realname.PhoneCheck.VERIFIED:
        raise realname.phone_problem(outcome, tries=tries)
    return answer


@router.get("/identity/citizens", response_model=list[CitizenRow])
def citizens(
    ctx: Ctx,
    actor: Annotated[Actor, Depends(require_roles(*IDENTITY_READERS))],
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CitizenRow]:
    """Citizens and their levels for staff, identity numbers masked (the read is audited)."""

    def write(session: Session) -> list[CitizenRow]:
        rows = realname.citizens(session, actor=actor, level=level, limit=limit, offset=offset)
        return [citizen_row(user, record) for user, record in rows]

    return ctx.write_grouped(write)


@router.get("/identity/citizens/{username}", response_model=CounterCitizen)
def counter_screen(
    ctx: Ctx, actor: CounterStaff, username: Annotated[str, Path(min_length=1, max_length=80)]
) -> CounterCitizen:
    """The counter screen: a citizen's full identity number (audited and access-logged)."""

    def write(session: Session) -> CounterCitizen:
        user, record = realname.counter_lookup(session, username=username, actor=actor)
        return counter_citizen(user, record)

    return ctx.write_grouped(write)


@router.post("/identity/counter-verifications", response_model=CounterCitizen)
def counter_verify(ctx: Ctx, actor: CounterStaff, body: CounterVerifyIn) -> CounterCitizen:
    """Real-name level 3: the clerk checked the document in hand against the account's number."""

    def write(session: Session) -> CounterCitizen:
        record = realname.counter_verify(
            session,
            username=body.username,
            id_number=body.id_number,
            actor=actor,
            counter=body.counter,
            address=body.address,
            address_district=body.address_district,
        )
        return counter_citizen(service.get_user(session, user_id=record.user_id), record)

    return ctx.write_grouped(write)


@router.get("/me/enterprises", response_model=list[MyEnterprise])
def my_enterprises(ctx: Ctx, user: Person) -> list[MyEnterprise]:
    """The enterprises I may act for: as their legal representative, or as an agent."""
    with ctx.reading() as session:
        return [
            MyEnterprise(enterprise=enterprise_out(found), relation=relation)
            for found, relation in enterprises.my_enterprises(session, user_id=user.id)
        ]


@router.get("/enterprises/{uscc}/agents", response_model=list[AgentOut])
def agents(ctx: Ctx, user: Person, uscc: UsccPath) -> list[AgentOut]:
    """Every agent grant, revoked ones included (the legal representative only)."""
    with ctx.reading() as session:
        rows = enterprises.agents(session, actor=service.actor_for(user), uscc=uscc)
        return [agent_out(grant, agent) for grant, agent in rows]


@router.post("/enterprises/{uscc}/agents", response_model=AgentOut, status_code=201)
def grant_agent(ctx: Ctx, user: Person, uscc: UsccPath, body: AgentGrantIn) -> AgentOut:
    """Authorise a citizen account to act for the enterprise (the legal representative only)."""
    actor = service.actor_for(user)

    def write(session: Session) -> AgentOut:
        grant = enterprises.grant_agent(session, actor=actor, uscc=uscc, username=body.username)
        return agent_out(grant, service.get_user(session, user_id=grant.user_id))

    return ctx.write_grouped(write)


@router.post("/enterprises/{uscc}/agents/{grant_id}/revoke", response_model=AgentOut)
def revoke_agent(
    ctx: Ctx, user: Person, uscc: UsccPath, grant_id: Annotated[int, Path(ge=1)]
) -> AgentOut:
    """End an agent's rights at once."""
    actor = service.actor_for(user)

    def write(session: Session) -> AgentOut:
        grant = enterprises.revoke_agent(session, actor=actor, uscc=uscc, grant_id=grant_id)
        return agent_out(grant, service.get_user(session, user_id=grant.user_id))

    return ctx.write_grouped(write)


@router.get("/enterprises/{uscc}", response_model=EnterpriseOut)
def enterprise_lookup(
    ctx: Ctx, actor: Annotated[Actor, Depends(staff_actor)], uscc: UsccPath
) -> EnterpriseOut:
    """Staff look an enterprise up by its code; the representative's number is masked."""

    def write(session: Session) -> EnterpriseOut:  # a unit that writes: the lookup is audited
        return enterprise_out(enterprises.staff_lookup(session, actor=actor, uscc=uscc))

    return ctx.write_grouped(write)
