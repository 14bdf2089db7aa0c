"""Grants between departments (一网共享): a department requests one, the owner approves (with
fields, a row filter and an expiry) or refuses, and may revoke it; the timer expires it. Every
step is a history row, a typed event and an audit entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import iso, utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, conflict, forbidden, not_found, unprocessable
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.application.identity.roles import Caller, Role
from cityloop.platforms.application.identity.service import SYSTEM, Actor, audit
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.sharing import events, targets
from cityloop.platforms.data.sharing.conditions import check_decision
from cityloop.platforms.data.sharing.messages import Message
from cityloop.platforms.data.sharing.models import DataGrant, GrantEvent
from cityloop.platforms.data.sharing.targets import Target
from cityloop.platforms.data.sharing.workflow import GRANT_WORKFLOW, GrantStatus, Party

MAX_TEXT = 500
MAX_PAGE = 200
# Who may act for a department in sharing: its handlers; administrators act for any.
REQUESTERS = frozenset({Role.HANDLER, Role.ADMIN})


def _text(value: str, *, field: str, what: Message) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise unprocessable(
            Message(
                "sharing.text_required",
                {"field": field, "what": what.render("en"), "what_zh": what.render("zh-CN")},
            ),
            field=field,
        )
    if len(text) > MAX_TEXT:
        raise unprocessable(
            Message("sharing.may_most_characters", {"field": str(field), "limit": str(MAX_TEXT)}),
            field=field,
        )
    return text


def _department(session: Session, code: str, field: str) -> str:
    found = session.get(Department, code)
    if found is None or not found.active:
        raise unprocessable(
            Message("sharing.unknown_department", {"code": repr(code)}), field=field
        )
    return found.code


def target_of(session: Session, grant: DataGrant) -> Target:
    """What the grant is for, as it is now."""
    if grant.kind == "dataset":
        dataset = session.get(Dataset, grant.dataset_id)
        assert dataset is not None  # a foreign key
        return targets.of_dataset(dataset)
    return targets.lookup_target(str(grant.lookup))


def target_name(session: Session, grant: DataGrant) -> str:
    """The name of the dataset or lookup the grant is for."""
    if grant.kind == "dataset":
        dataset = session.get(Dataset, grant.dataset_id)
        return dataset.name if dataset else str(grant.dataset_id)
    return str(grant.lookup)


def _record(
    session: Session,
    grant: DataGrant,
    *,
    action: str,
    actor: Actor,
    from_status: str | None,
    note: str = "",
    at: datetime | None = None,
) -> GrantEvent:
    """Append the history row, emit the typed event and audit the step."""
    row = GrantEvent(
        grant_id=grant.id, at=at or utcnow(), actor=actor.username, actor_role=str(actor.role),
        action=action, from_status=from_status, to_status=grant.status, note=note,
    )  # fmt: skip
    session.add(row)
    name = target_name(session, grant)
    extra = {"expires_at": iso(grant.expires_at) or ""} if action == "approve" else {}
    emit(
        session,
        events.BY_ACTION[action](
            grant_id=grant.id, kind=grant.kind,
            dataset=name if grant.kind == "dataset" else None, lookup=grant.lookup,
            requester_department=grant.requester_department,
            owner_department=grant.owner_department, from_status=from_status,
            to_status=grant.status, **extra,
        ),
    )  # fmt: skip
    audit(
        session,
        actor=actor,
        action=f"sharing.grant.{action}",
        target=f"grant:{grant.id}",
        detail={"status": grant.status, "target": f"{grant.kind}:{name}", "note": note},
    )
    session.flush()
    return row


def request_grant(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    name: str,
    purpose: str,
    legal_basis: str,
    fields: Sequence[str] = (),
    department: str | None = None,
) -> DataGrant:
    """Ask the owner of a dataset or lookup for a grant, stating purpose and legal basis."""
    if actor.role not in REQUESTERS and actor.role != Caller.SYSTEM:
        raise forbidden(Message("sharing.department_s_handler_requests"))
    if actor.role == Role.HANDLER:
        if department not in (None, actor.department_code):
            raise forbidden(
                Message(
                    "sharing.act_department",
                    {"department_code": str(actor.department_code), "department": str(department)},
                )
            )
        department = actor.department_code
    if not department:
        raise unprocessable(Message("sharing.name_department_grant"), field="department")
    department = _department(session, department, "department")
    target = targets.find(session, kind=kind, name=name)
    if target.is_open:
        raise conflict(
            Message("sharing.dataset_open_anyone_may", {"name": str(name)}),
            type_="open-dataset",
        )
    if target.owner == department:
        raise conflict(
            Message(
                "sharing.department_owns_grant_read",
                {
                    "department": str(department),
                    "kind": str(kind),
                    "name": str(name),
                },
            ),
            type_="own-data",
        )
    if session.get(Department, target.owner) is None:
        raise conflict(
            Message(
                "sharing.belongs_department_which_city",
                {
                    "kind": str(kind),
                    "name": str(name),
                    "owner": str(target.owner),
                },
            ),
            type_="no-owner",
        )
    purpose = _text(purpose, field="purpose", what=Message("sharing.hint_purpose"))
    legal_basis = _text(legal_basis, field="legal_basis", what=Message("sharing.hint_legal_basis"))
    wanted = list(dict.fromkeys(fields))
    unknown = [f for f in wanted if f not in target.fields]
    if unknown:
        raise unprocessable(
            Message(
                "sharing.unknown_fields",
                {
                    "kind": str(kind),
                    "name": str(name),
                    "unknown": str(unknown),
                    "list": str(list(target.fields)),
                },
            ),
            field="fields",
        )
    pending = session.scalar(
        _for(department, target).where(DataGrant.status == GrantStatus.REQUESTED).limit(1)
    )
    if pending is not None:
        raise conflict(
            Message(
                "sharing.grant_already_waiting",
                {
                    "pending_id": str(pending.id),
                    "kind": str(kind),
                    "name": str(name),
                    "owner": str(target.owner),
                },
            ),
            type_="grant-pending",
            grant_id=pending.id,
        )
    grant = DataGrant(
        kind=kind,
        dataset_id=target.dataset.id if target.dataset else None,
        lookup=target.name if target.lookup else None,
        requester_department=department,
        owner_department=target.owner,
        purpose=purpose,
        legal_basis=legal_basis,
        requested_by=actor.username,
        requested_at=utcnow(),
        requested_fields=wanted,
        status=GrantStatus.REQUESTED,
    )
    session.add(grant)
    session.flush()
    _record(session, grant, action="request", actor=actor, from_status=None, note=purpose)
    return grant


def _for(department: str, target: Target) -> Any:
    """The query of one department's grants for one dataset or lookup, newest first."""
    query = select(DataGrant).where(
        DataGrant.requester_department == department, DataGrant.kind == target.kind
    )
    if target.dataset is not None:
        query = query.where(DataGrant.dataset_id == target.dataset.id)
    else:
        query = query.where(DataGrant.lookup == target.name)
    return query.order_by(DataGrant.id.desc())


def grants_for(session: Session, *, department: str, target: Target) -> list[DataGrant]:
    """A department's grants for one dataset or lookup, newest first."""
    return list(session.scalars(_for(department, target)))


def _may_decide(actor: Actor, grant: DataGrant) -> None:
    if actor.role in (Role.ADMIN, Caller.SYSTEM):
        return
    if actor.role == Role.HANDLER and actor.department_code == grant.owner_department:
        return
    raise forbidden(
        Message(
            "sharing.only_handlers_which_owns",
            {
                "owner_department": str(grant.owner_department),
                "grant_id": str(grant.id),
            },
        )
    )


def _allowed(grant: DataGrant, action: str, actor: Actor) -> str:
    """The status ``action`` leads to, once the table allows it now and the actor may take it
    (409 or 403 otherwise); nothing is changed yet."""
    row = GRANT_WORKFLOW.find(grant.status, action)
    if row is None:
        allowed = GRANT_WORKFLOW.actions_from(grant.status)
        may = Message("sharing.allowed_actions", {"actions": ", ".join(allowed)})
        raise conflict(
            Message(
                "sharing.illegal_transition",
                {
                    "grant": str(grant.id),
                    "status": grant.status,
                    "action": action,
                    "allowed": may.render("en") if allowed else "",
                    "allowed_zh": may.render("zh-CN") if allowed else "",
                },
            ),
            type_="illegal-transition",
            status=grant.status,
        )
    if row.party is Party.OWNER:
        _may_decide(actor, grant)
    return str(row.target)


def _move(grant: DataGrant, to_status: str) -> str:
    """Set the grant's status; the one before."""
    before, grant.status = grant.status, to_status
    return before


def _locked(session: Session, grant_id: int) -> DataGrant:
    grant = session.get(DataGrant, grant_id, with_for_update=True)
    if grant is None:
        raise not_found("grant", grant_id)
    return grant


def approve_grant(
    session: Session,
    *,
    grant_id: int,
    actor: Actor,
    fields: Sequence[str],
    row_filter: Mapping[str, Any] | None = None,
    expires_at: datetime,
    note: str = "",
    now: datetime | None = None,
) -> DataGrant:
    """Approve a request: the fields (columns) allowed, the rows (a filter) and an expiry."""
    now = now or utcnow()
    grant = _locked(session, grant_id)
    to_status = _allowed(grant, "approve", actor)
    chosen = check_decision(
        target_of(session, grant),
        fields=fields, row_filter=row_filter or {}, expires_at=expires_at, now=now,
    )  # fmt: skip
    if len(note) > MAX_TEXT:
        raise unprocessable(
            Message("sharing.note_may_most_characters", {"limit": str(MAX_TEXT)}), field="note"
        )
    before = _move(grant, to_status)
    grant.fields, grant.row_filter = chosen, dict(row_filter or {})
    grant.expires_at = expires_at
    grant.decided_by, grant.decided_at, grant.decision_note = actor.username, now, note.strip()
    _record(session, grant, action="approve", actor=actor, from_status=before, note=note.strip())
    return grant


def refuse_grant(session: Session, *, grant_id: int, actor: Actor, reason: str) -> DataGrant:
    """Refuse a request, saying why (the requester reads it)."""
    grant = _locked(session, grant_id)
    to_status = _allowed(grant, "refuse", actor)
    reason = _text(reason, field="reason", what=Message("sharing.hint_reason"))
    before = _move(grant, to_status)
    grant.decided_by, grant.decided_at, grant.decision_note = actor.username, utcnow(), reason
    _record(session, grant, action="refuse", actor=actor, from_status=before, note=reason)
    return grant


def revoke_grant(session: Session, *, grant_id: int, actor: Actor, reason: str) -> DataGrant:
    """End an approved grant now, saying why; the next read is refused at once."""
    grant = _locked(session, grant_id)
    to_status = _allowed(grant, "revoke", actor)
    reason = _text(reason, field="reason", what=Message("sharing.hint_reason"))
    before = _move(grant, to_status)
    grant.revoked_by, grant.revoked_at, grant.revoked_reason = actor.username, utcnow(), reason
    _record(session, grant, action="revoke", actor=actor, from_status=before, note=reason)
    return grant


def expire_due(session: Session, *, now: datetime | None = None) -> int:
    """Mark every approved grant past its expiry as expired; how many there were."""
    now = now or utcnow()
    due = session.scalars(
        select(DataGrant)
        .where(DataGrant.status == GrantStatus.APPROVED, DataGrant.expires_at <= now)
        .order_by(DataGrant.id)
        .with_for_update(skip_locked=True)
    ).all()
    for grant in due:
        before = _move(grant, _allowed(grant, "expire", SYSTEM))
        note = f"expired at {iso(grant.expires_at)}"
        _record(session, grant, action="expire", actor=SYSTEM, from_status=before, note=note)
    return len(due)


def _may_see(actor: Actor, grant: DataGrant) -> None:
    if actor.role in (Role.ADMIN, Caller.SYSTEM):
        return
    if actor.department_code in (grant.requester_department, grant.owner_department):
        return
    raise forbidden(Message("sharing.grant_between_other_departments", {"grant_id": str(grant.id)}))


def get_grant(session: Session, *, grant_id: int, actor: Actor) -> DataGrant:
    """A grant its requester's or owner's staff (or an administrator) may see."""
    grant = session.get(DataGrant, grant_id)
    if grant is None:
        raise not_found("grant", grant_id)
    _may_see(actor, grant)
    return grant


def history(session: Session, *, grant_id: int) -> list[GrantEvent]:
    """A grant's steps, oldest first."""
    query = select(GrantEvent).where(GrantEvent.grant_id == grant_id).order_by(GrantEvent.id)
    return list(session.scalars(query))


VIEWS = ("requests", "decisions", "all")


def list_grants(
    session: Session,
    *,
    actor: Actor,
    view: str = "all",
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DataGrant], int]:
    """A page of grants, newest first: my department's requests, the decisions on its data, or
    both (an administrator sees every department's)."""
    if view not in VIEWS:
        raise unprocessable(
            Message("sharing.view_choices", {"list": str(list(VIEWS))}), field="view"
        )
    if status is not None and status not in set(GrantStatus):
        raise unprocessable(
            Message("sharing.status_choices", {"list": str([s.value for s in GrantStatus])}),
            field="status",
        )
    query = select(DataGrant)
    mine = actor.department_code
    if actor.role != Role.ADMIN:
        if not mine:
            raise Problem(403, "forbidden", Message("sharing.grants_belong_departments_yours"))
        sides = {
            "requests": DataGrant.requester_department == mine,
            "decisions": DataGrant.owner_department == mine,
        }
        query = query.where(
            sides[view]
            if view in sides
            else or_(DataGrant.requester_department == mine, DataGrant.owner_department == mine)
        )
    if status is not None:
        query = query.where(DataGrant.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(DataGrant.id.desc()).limit(min(limit, MAX_PAGE)).offset(offset)
    )
    return list(page), int(total)
