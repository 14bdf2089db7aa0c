"""Versioned configuration: every edit of a configuration object (a department, a category, a
routing rule, a calendar day) keeps the object's full new state as a numbered version, names the
fields it changed, and goes into the audit trail.

An edit states the version it was made on (a ``version`` field or an ``If-Match`` header): when
someone else changed the object since, the edit is refused with a 409 naming the current version,
instead of silently undoing the other person's change. The unique (kind, key, version) row also
catches two edits racing past that check: the loser's commit fails and it gets a 409 too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityloop.base.db import Base, utcnow
from cityloop.base.problem_texts import thing
from cityloop.base.problems import Problem, conflict
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.service import Actor, audit


class ConfigVersion(Base):
    """One version of one configuration object: who made it, when, and the whole new state."""

    __tablename__ = "config_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # create | edit | deactivate | delete …
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changes: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (
        UniqueConstraint("kind", "key", "version", name="uq_config_version"),
        Index("ix_config_versions_object", "kind", "key", "version"),
    )


def expected_version(*, given: int | None, if_match: str | None) -> int | None:
    """The version an edit was made on: the body's ``version``, else an ``If-Match`` header
    (``"3"``, ``W/"3"`` or ``3``); None when the client named neither."""
    if given is not None:
        return given
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise Problem(400, "invalid-input", Message("identity.bad_if_match"), field="If-Match")
    return int(text)


def _named(kind: str, key: str) -> dict[str, str]:
    """The parameters naming an object of ``kind`` (``routing-rule``) in both languages."""
    _, chinese = thing(kind.replace("-", " "))
    return {"kind": kind, "kind_zh": chinese, "key": key}


def require_version(*, kind: str, key: str, current: int, given: int | None) -> None:
    """Refuse an edit made on another version than the current one (409 naming the current);
    an edit that names no version is refused too (428), so nobody overwrites blind."""
    if given is None:
        raise Problem(
            428,
            "version-required",
            Message("identity.version_required", _named(kind, key)),
            field="version",
        )
    if given != current:
        raise conflict(
            Message(
                "identity.stale_version",
                {**_named(kind, key), "current": str(current), "given": str(given)},
            ),
            type_="stale-version",
            current_version=current,
            field="version",
        )


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The top-level fields whose value differs, sorted; every field for a new object."""
    if before is None:
        return sorted(after)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def record(
    session: Session,
    *,
    kind: str,
    key: str,
    version: int,
    action: str,
    state: dict[str, Any],
    before: dict[str, Any] | None,
    actor: Actor,
    detail: dict[str, Any] | None = None,
) -> ConfigVersion:
    """Keep ``state`` as version ``version`` of the object, and audit the edit as
    ``<kind>.<action>`` on target ``<kind>:<key>``."""
    changes = changed_fields(before, state)
    row = ConfigVersion(
        kind=kind,
        key=key,
        version=version,
        action=action,
        at=utcnow(),
        actor=actor.username,
        actor_role=actor.role,
        state=state,
        changes=changes,
    )
    session.add(row)
    audit(
        session,
        actor=actor,
        action=f"{kind}.{action}",
        target=f"{kind}:{key}",
        detail={"version": version, "changes": changes, **(detail or {})},
    )
    session.flush()
    return row


def next_version(session: Session, *, kind: str, key: str) -> int:
    """The number the next version of an object without its own counter gets."""
    latest = session.scalar(
        select(func.max(ConfigVersion.version)).where(
            ConfigVersion.kind == kind, ConfigVersion.key == key
        )
    )
    return (latest or 0) + 1


def history(session: Session, *, kind: str, key: str, limit: int = 200) -> list[ConfigVersion]:
    """The object's versions, newest first."""
    return list(
        session.scalars(
            select(ConfigVersion)
            .where(ConfigVersion.kind == kind, ConfigVersion.key == key)
            .order_by(ConfigVersion.version.desc())
            .limit(limit)
        )
    )
