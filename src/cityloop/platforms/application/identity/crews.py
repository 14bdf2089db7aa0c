"""Crews (班组): a department's named teams of field workers, and who may manage them.

A crew belongs to one department; a worker may be in several crews. Admins manage every
department's crews, a department's handler only their own. Every change is audited. Any domain
may assign work to a crew or read who is in one: this is staff organisation, not case handling.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request, conflict, forbidden, not_found
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import Crew, CrewMember, User
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES, Role
from cityloop.platforms.application.identity.service import (
    Actor,
    audit,
    find_user,
    require_department,
)

MAX_NAME = 120
# Who may read a department's crews: the city-wide roles, and the department's own staff.
CREW_READERS = CITY_WIDE_ROLES | {Role.HANDLER, Role.WORKER}


def may_read(actor: Actor, department_code: str) -> bool:
    """Whether this actor may see this department's crews and workers."""
    if actor.role in CITY_WIDE_ROLES:
        return True
    return actor.role in CREW_READERS and actor.department_code == department_code


def _require_manager(actor: Actor, department_code: str) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.HANDLER and actor.department_code == department_code:
        return
    if actor.role == Role.HANDLER:
        raise forbidden(Message("identity.crews_own_department_only"))
    raise forbidden(Message("identity.crews_managers"))


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise bad_request(
            Message("identity.crew_name_length", {"max": str(MAX_NAME)}), field="name"
        )
    return cleaned


def get_crew(session: Session, *, crew_id: int) -> Crew:
    """The crew with this id; 404 when there is none."""
    crew = session.get(Crew, crew_id)
    if crew is None:
        raise not_found("crew", crew_id)
    return crew


def list_crews(session: Session, *, actor: Actor, department_code: str | None = None) -> list[Crew]:
    """The crews this actor may see (one department's, or every one), by department and name."""
    if actor.role not in CREW_READERS:
        raise forbidden(Message("identity.crews_readers"))
    if actor.role not in CITY_WIDE_ROLES:
        if department_code and department_code != actor.department_code:
            raise forbidden(Message("identity.own_department_crews"))
        department_code = actor.department_code
    query = select(Crew).order_by(Crew.department_code, Crew.name)
    if department_code:
        query = query.where(Crew.department_code == department_code)
    return list(session.scalars(query))


def members_of(session: Session, *, crew_ids: list[int]) -> dict[int, list[User]]:
    """The members of each crew, by username."""
    found: dict[int, list[User]] = defaultdict(list)
    if not crew_ids:
        return found
    rows = session.execute(
        select(CrewMember.crew_id, User)
        .join(User, User.id == CrewMember.user_id)
        .where(CrewMember.crew_id.in_(crew_ids))
        .order_by(User.username)
    )
    for crew_id, user in rows:
        found[crew_id].append(user)
    return found


def crew_ids_of(session: Session, *, user_id: int) -> list[int]:
    """The active crews this user is in."""
    return list(
        session.scalars(
            select(Crew.id)
            .join(CrewMember, CrewMember.crew_id == Crew.id)
            .where(CrewMember.user_id == user_id, Crew.active.is_(True))
        )
    )


def department_workers(session: Session, *, department_code: str) -> list[User]:
    """The department's active field workers, by username."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.role == Role.WORKER,
                User.department_code == department_code,
                User.active.is_(True),
            )
            .order_by(User.username)
        )
    )


def require_worker(
    session: Session, *, user_id: int, department_code: str | None, field: str
) -> User:
    """The active worker with this id in this department; 400 naming ``field`` otherwise."""
    user = session.get(User, user_id)
    if (
        user is None
        or not user.active
        or user.role != Role.WORKER
        or user.department_code != department_code
    ):
        raise bad_request(
            Message(
                "identity.not_active_worker",
                {"user": str(user_id), "department": str(department_code)},
            ),
            field,
        )
    return user


def require_crew(
    session: Session, *, crew_id: int, department_code: str | None, field: str
) -> Crew:
    """The active crew with this id in this department; 400 naming ``field`` otherwise."""
    crew = session.get(Crew, crew_id)
    if crew is None or not crew.active or crew.department_code != department_code:
        raise bad_request(
            Message(
                "identity.not_active_crew",
                {"crew": str(crew_id), "department": str(department_code)},
            ),
            field,
        )
    return crew


def create_crew(session: Session, *, actor: Actor, department_code: str, name: str) -> Crew:
    """Add a crew to a department, audited."""
    require_department(session, code=department_code)
    _require_manager(actor, department_code)
    crew = Crew(department_code=department_code, name=_clean_name(name))
    _save_name(session, crew)
    audit(
        session,
        actor=actor,
        action="crew.create",
        target=f"crew:{crew.id}",
        detail={"department": department_code, "name": crew.name},
    )
    return crew


def rename_crew(session: Session, *, actor: Actor, crew_id: int, name: str) -> Crew:
    """Give a crew a new name, audited."""
    crew = get_crew(session, crew_id=crew_id)
    _require_manager(actor, crew.department_code)
    before, crew.name = crew.name, _clean_name(name)
    _save_name(session, crew)
    audit(
        session,
        actor=actor,
        action="crew.rename",
        target=f"crew:{crew.id}",
        detail={"from": before, "to": crew.name},
    )
    return crew


def _name_taken(crew: Crew) -> Message:
    return Message(
        "identity.crew_name_taken", {"department": crew.department_code, "name": repr(crew.name)}
    )


def _save_name(session: Session, crew: Crew) -> None:
    taken = session.scalar(
        select(Crew.id).where(
            Crew.department_code == crew.department_code, Crew.name == crew.name, Crew.id != crew.id
        )
    )
    if taken is not None:
        raise conflict(
            _name_taken(crew),
            type_="crew-name-taken",
        )
    session.add(crew)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent crew of the same name
        raise conflict(
            _name_taken(crew),
            type_="crew-name-taken",
        ) from exc


def add_member(session: Session, *, actor: Actor, crew_id: int, username: str) -> Crew:
    """Put a worker of the crew's department in the crew (no change if already in), audited."""
    crew = get_crew(session, crew_id=crew_id)
    _require_manager(actor, crew.department_code)
    user = find_user(session, username=username)
    if user is None:
        raise bad_request(
            Message("identity.no_such_account", {"username": repr(username)}), field="username"
        )
    require_worker(session, user_id=user.id, department_code=crew.department_code, field="username")
    if session.get(CrewMember, (crew.id, user.id)) is None:
        session.add(CrewMember(crew_id=crew.id, user_id=user.id))
        session.flush()
    audit(
        session,
        actor=actor,
        action="crew.member.add",
        target=f"crew:{crew.id}",
        detail={"user": user.username},
    )
    return crew


def remove_member(session: Session, *, actor: Actor, crew_id: int, username: str) -> Crew:
    """Take a worker out of the crew, audited; 404 when they are not in it."""
    crew = get_crew(session, crew_id=crew_id)
    _require_manager(actor, crew.department_code)
    user = find_user(session, username=username)
    member = session.get(CrewMember, (crew.id, user.id)) if user else None
    if member is None:
        raise not_found("crew member", repr(username))
    session.delete(member)
    session.flush()
    audit(
        session,
        actor=actor,
        action="crew.member.remove",
        target=f"crew:{crew.id}",
        detail={"user": username},
    )
    return crew


def set_crew_active(session: Session, *, actor: Actor, crew_id: int, active: bool) -> Crew:
    """Deactivate a crew (it takes no new work; its members stay) or reactivate it, audited."""
    crew = get_crew(session, crew_id=crew_id)
    _require_manager(actor, crew.department_code)
    crew.active = active
    session.flush()
    audit(
        session,
        actor=actor,
        action="crew.activate" if active else "crew.deactivate",
        target=f"crew:{crew.id}",
    )
    return crew
