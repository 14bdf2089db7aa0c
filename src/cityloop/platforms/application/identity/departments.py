"""Departments as configuration: added, renamed (English and Chinese) and deactivated by admins,
each edit versioned and audited (``versions``).

A department still in use must not be deactivated. What uses it is mostly not identity's to know
(routing rules and open cases are governance's), so the packages that know register a guard here:
a function naming what still points at a department.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.lookups import Lookup
from cityloop.base.outbox import emit
from cityloop.base.problems import conflict, not_found
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.events import DepartmentChanged
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import Department, User
from cityloop.platforms.application.identity.service import Actor

KIND = "department"

# (session, department code) -> what still points at it, one line each (a message, so the
# reader sees it in their language; a plain string reads the same in both).
Guard = Callable[[Session, str], Sequence[str | Message]]
_GUARDS: list[Guard] = []


def register_deactivation_guard(guard: Guard) -> None:
    """Add a check that names what still needs a department (registering twice is harmless)."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)


def _staff_in(session: Session, code: str) -> list[Message]:
    names = session.scalars(
        select(User.username).where(User.department_code == code, User.active.is_(True)).limit(5)
    ).all()
    return [Message("identity.blocker_account", {"username": name}) for name in names]


register_deactivation_guard(_staff_in)


@dataclass(frozen=True)
class DepartmentName:
    """A department's names, as read paths show them (from the process's cache)."""

    code: str
    name: str
    name_zh: str
    active: bool


_names: Lookup[dict[str, DepartmentName]] = Lookup(
    # Every edit bumps a version and every addition the count; a table of tens of rows.
    fingerprint=lambda session: tuple(
        session.execute(select(func.count(), func.sum(Department.version))).one()
    ),
    build=lambda session: {
        d.code: DepartmentName(d.code, d.name, d.name_zh, d.active)
        for d in session.scalars(select(Department))
    },
    invalidated_by=[DepartmentChanged],
)


def department_name(session: Session, *, code: str) -> DepartmentName | None:
    """The department's names from this process's cache, for read paths (a write that must
    see the row itself takes ``service.get_department``)."""
    found = _names.get(session).get(code)
    if found is None:  # added in another process since the last recheck, or no such code
        found = _names.get(session, recheck=True).get(code)
    return found


def state_of(department: Department) -> dict[str, Any]:
    """The department as a version keeps it."""
    return {
        "code": department.code,
        "name": department.name,
        "name_zh": department.name_zh,
        "kind": department.kind,
        "active": department.active,
    }


def _get(session: Session, code: str) -> Department:
    department = session.get(Department, code)
    if department is None:
        raise not_found("department", code)
    return department


def list_all(session: Session) -> list[Department]:
    """Every department, active or not, by code."""
    return list(session.scalars(select(Department).order_by(Department.code)))


def add(
    session: Session, *, code: str, name: str, name_zh: str, kind: str, actor: Actor
) -> Department:
    """A new department at version 1; 409 when the code is taken."""
    if session.get(Department, code) is not None:
        raise conflict(Message("identity.department_exists", {"code": code}), field="code")
    department = Department(code=code, name=name, name_zh=name_zh, kind=kind, version=1)
    session.add(department)
    session.flush()
    versions.record(
        session,
        kind=KIND,
        key=code,
        version=1,
        action="create",
        state=state_of(department),
        before=None,
        actor=actor,
    )
    emit(session, DepartmentChanged(code=code, version=1, action="create"))
    return department


def _edit(
    session: Session, department: Department, *, action: str, actor: Actor, before: dict[str, Any]
) -> Department:
    department.version += 1
    session.flush()
    versions.record(
        session,
        kind=KIND,
        key=department.code,
        version=department.version,
        action=action,
        state=state_of(department),
        before=before,
        actor=actor,
    )
    emit(
        session,
        DepartmentChanged(code=department.code, version=department.version, action=action),
    )
    return department


def rename(
    session: Session,
    *,
    code: str,
    version: int | None,
    name: str,
    name_zh: str,
    kind: str,
    actor: Actor,
) -> Department:
    """Change a department's names (and kind), on the version the admin saw."""
    department = _get(session, code)
    versions.require_version(kind=KIND, key=code, current=department.version, given=version)
    before = state_of(department)
    department.name, department.name_zh, department.kind = name, name_zh, kind
    return _edit(session, department, action="edit", actor=actor, before=before)


def blockers(session: Session, *, code: str) -> list[Message]:
    """What still points at the department, from every registered guard."""
    return [
        line if isinstance(line, Message) else Message("identity.blocker", {"what": line})
        for guard in _GUARDS
        for line in guard(session, code)
    ]


def set_active(
    session: Session, *, code: str, version: int | None, active: bool, actor: Actor
) -> Department:
    """Deactivate a department nothing points at any more (409 naming what does), or bring one
    back."""
    department = _get(session, code)
    versions.require_version(kind=KIND, key=code, current=department.version, given=version)
    if department.active == active:
        return department
    if not active:
        found = blockers(session, code=code)
        if found:
            raise conflict(
                Message(
                    "identity.department_in_use",
                    {
                        "code": code,
                        "blockers": "; ".join(line.render("en") for line in found),
                        "blockers_zh": "；".join(line.render("zh-CN") for line in found),
                    },
                ),
                type_="department-in-use",
                blockers=[line.render("en") for line in found],
            )
    before = state_of(department)
    department.active = active
    return _edit(
        session,
        department,
        action="deactivate" if not active else "activate",
        actor=actor,
        before=before,
    )
