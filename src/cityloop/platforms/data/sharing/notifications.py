"""Who hears of a grant's steps: the owner's staff of a request, the requester's staff of the
decision, a revocation and an expiry. One inbox line each, in both languages by message code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.base.messages import Message, register
from cityloop.base.outbox import DeliveredEvent
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.notify import service as notify
from cityloop.platforms.data.sharing import events
from cityloop.platforms.data.sharing.models import DataGrant
from cityloop.platforms.data.sharing.service import target_of

register(
    {
        "sharing.notice.requested": (
            "{requester} asks for a grant on {target} (#{grant}): "
            "decide it on the Data sharing screen",
            "{requester_zh}申请{target_zh}的共享授权（#{grant}）：请在“数据共享”页面审批",
        ),
        "sharing.notice.approved": (
            "{owner} approved grant #{grant} on {target}, until {until}",
            "{owner_zh}已批准{target_zh}的共享授权 #{grant}，有效期至 {until}",
        ),
        "sharing.notice.refused": (
            "{owner} refused grant #{grant} on {target}",
            "{owner_zh}未批准{target_zh}的共享授权 #{grant}",
        ),
        "sharing.notice.revoked": (
            "{owner} revoked grant #{grant} on {target}",
            "{owner_zh}已撤销{target_zh}的共享授权 #{grant}",
        ),
        "sharing.notice.expired": (
            "Grant #{grant} on {target} has expired",
            "{target_zh}的共享授权 #{grant} 已到期",
        ),
    }
)

# Staff of a department who request and decide grants.
DECIDERS = (Role.HANDLER,)


def _names(session: Session, code: str) -> tuple[str, str]:
    department = identity.get_department(session, code=code)
    return (department.name, department.name_zh or department.name) if department else (code, code)


def on_grant_change(session: Session, event: DeliveredEvent) -> None:
    """Tell the department that must act, or whose request was decided, once per event."""
    if notify.already_sent(session, event_id=event.id):
        return
    change = event.event
    assert isinstance(change, events.GrantChange)
    grant = session.get(DataGrant, change.grant_id)
    if grant is None:
        return
    target = target_of(session, grant)
    action = change.type.rsplit(".", 1)[-1]
    requester, requester_zh = _names(session, grant.requester_department)
    owner, owner_zh = _names(session, grant.owner_department)
    until = grant.expires_at.date().isoformat() if grant.expires_at else ""
    coded = Message(
        f"sharing.notice.{action}",
        {
            "grant": str(grant.id), "target": target.title, "target_zh": target.title_zh,
            "requester": requester, "requester_zh": requester_zh, "owner": owner,
            "owner_zh": owner_zh, "until": until,
        },
    )  # fmt: skip
    department = grant.owner_department if action == "requested" else grant.requester_department
    for role in DECIDERS:
        for user in identity.users_with_role(session, role=role, department_code=department):
            notify.queue(
                session, source_event_id=event.id, user_id=user.id, kind=f"grant.{action}",
                message=coded.render("en"), coded=coded,
            )  # fmt: skip
