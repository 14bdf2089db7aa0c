"""Who hears about a case: every public change reaches the reporter and every supporter (inbox,
and e-mail where they gave an address); escalations reach the department's handlers and the
supervisors; an assignment reaches the worker or the crew's members. Consumers of governance's
own events, written through the notify platform.

Each line is kept as a message code (the inbox shows it in its reader's language) and sent in
the recipient's: their account's setting, else the language they reported in, else English."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.domains.governance import citizen, timeline
from cityloop.domains.governance import events as case_events
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, CaseEvent, Category, Report
from cityloop.platforms.application.identity import crews
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.notify import service as notify

if TYPE_CHECKING:
    from cityloop.base.context import AppContext
    from cityloop.platforms.application.identity.models import User


def on_public_updates(session: Session, batch: list[DeliveredEvent]) -> None:
    """An inbox row for every follower, and an e-mail row for each follower who gave an
    address, for each public update of a relay batch. E-mail rows are sent later, outside any
    transaction."""
    # Four reads for the whole batch (what was sent, the timeline rows, the followers, their
    # accounts), not four or more per event: this consumer runs for every report.
    sent = notify.sent_events(session, event_ids=[delivered.id for delivered in batch])
    todo: list[tuple[int, case_events.CasePublicUpdate]] = []
    for delivered in batch:
        if delivered.id in sent:
            continue
        update = delivered.event
        assert isinstance(update, case_events.CasePublicUpdate)
        todo.append((delivered.id, update))
    rows = timeline.public_events(session, event_ids=[update.event_id for _, update in todo])
    todo = [(event_id, update) for event_id, update in todo if update.event_id in rows]
    followers = citizen.followers_of(session, case_ids=sorted({u.case_id for _, u in todo}))
    users = identity.users_by_id(
        session,
        user_ids={
            report.reporter_user_id
            for reports in followers.values()
            for report in reports
            if report.reporter_user_id
        },
    )
    lines: list[dict[str, Any]] = []
    for event_id, update in todo:
        lines += _lines_for_followers(
            event_id, update, rows[update.event_id], followers[update.case_id], users
        )
    notify.queue_lines(session, lines)


def _lines_for_followers(
    event_id: int,
    update: case_events.CasePublicUpdate,
    timeline_event: CaseEvent,
    reports: list[Report],
    users: dict[int, User],
) -> list[dict[str, Any]]:
    case_id = update.case_id
    coded = Message(
        "case.update",
        {
            "case": str(case_id),
            "line": timeline.public_text(timeline_event),
            "line_zh": timeline.public_text(timeline_event, locale="zh-CN"),
        },
    )
    kind = f"case.{update.action}"
    lines: list[dict[str, Any]] = []
    seen_users: set[int] = set()
    addresses: dict[str, Report] = {}
    for report in reports:
        if report.contact_email:
            addresses.setdefault(report.contact_email.lower(), report)
        if report.reporter_user_id in seen_users:
            continue
        if report.reporter_user_id:
            seen_users.add(report.reporter_user_id)
        line = notify.line(
            source_event_id=event_id,
            case_id=case_id,
            user_id=report.reporter_user_id,
            report_id=report.id,
            kind=kind,
            message=coded.render(_locale_of(report, users)),
            coded=coded,
        )
        lines.append(line)
    status = timeline_event.to_status
    for address, report in addresses.items():
        locale = _locale_of(report, users)
        subject = Message("case.email_subject", {"case": str(case_id), "status": status})
        follow = Message("case.follow_with_token", {"token": report.tracking_token})
        line = notify.line(
            source_event_id=event_id,
            case_id=case_id,
            report_id=report.id,
            kind=kind,
            email=(address, subject.render(locale)),
            message=f"{coded.render(locale)}\n\n{follow.render(locale)}\n",
        )
        lines.append(line)
    return lines


def _locale_of(report: Report, users: dict[int, User]) -> str:
    """The language a reporter reads: their account's setting, else the one they reported in."""
    if report.reporter_user_id:
        # A report's account always exists (a foreign key): a missing one fails the event.
        user = users[report.reporter_user_id]
        if user.locale:
            return user.locale
    return report.locale or "en"


def on_escalated(session: Session, event: DeliveredEvent) -> None:
    """The supervisors and the department's handlers hear of an escalation."""
    if notify.already_sent(session, event_id=event.id):
        return
    escalation = event.event
    assert isinstance(escalation, case_events.CaseEscalated)
    case_id, department, reason = escalation.case_id, escalation.department, escalation.reason
    recipients = identity.users_with_role(session, role=Role.SUPERVISOR)
    if department:
        recipients += identity.users_with_role(
            session, role=Role.HANDLER, department_code=department
        )
    _tell(
        session,
        event.id,
        case_id,
        recipients,
        f"case.escalated.{reason}",
        Message("case.escalated", {"case": str(case_id), "reason": reason}),
    )


def on_flagged(session: Session, event: DeliveredEvent) -> None:
    """The department's handlers hear that a case has gone quiet too long."""
    if notify.already_sent(session, event_id=event.id):
        return
    flag = event.event
    assert isinstance(flag, case_events.CaseFlagged)
    department, case_id = flag.department, flag.case_id
    if not department:
        return
    _tell(
        session,
        event.id,
        case_id,
        identity.users_with_role(session, role=Role.HANDLER, department_code=department),
        "case.no_update",
        Message("case.no_update", {"case": str(case_id)}),
    )


def on_assigned(session: Session, event: DeliveredEvent) -> None:
    """The worker, or every member of the crew, a case was assigned to hears of it."""
    if notify.already_sent(session, event_id=event.id):
        return
    assigned = event.event
    assert isinstance(assigned, case_events.CaseAssigned)
    case = session.get(Case, assigned.case_id)
    if case is None:
        return
    category = session.get(Category, case.category_code)
    params = {
        "case": str(case.id),
        "category": category.name if category else case.category_code,
        "category_zh": (category.name_zh or category.name) if category else case.category_code,
    }
    if assigned.assignee_user_id is not None:
        users = [identity.get_user(session, user_id=assigned.assignee_user_id)]
        coded = Message("assignment_notice", params)
    elif assigned.assignee_crew_id is not None:
        crew = crews.get_crew(session, crew_id=assigned.assignee_crew_id)
        users = [u for u in crews.members_of(session, crew_ids=[crew.id])[crew.id] if u.active]
        coded = Message("crew_assignment_notice", {**params, "crew": crew.name})
    else:
        return  # withdrawn: nobody needs a message
    for user in {u.id: u for u in users}.values():
        notify.queue(
            session,
            source_event_id=event.id,
            case_id=case.id,
            user_id=user.id,
            kind="case.assigned",
            message=coded.render(),
            coded=coded,
        )


def _tell(
    session: Session, event_id: int, case_id: int, users: list[User], kind: str, coded: Message
) -> None:
    for user in {u.id: u for u in users}.values():
        notify.queue(
            session,
            source_event_id=event_id,
            case_id=case_id,
            user_id=user.id,
            kind=kind,
            message=coded.render(user.locale or "en"),
            coded=coded,
        )


def subscribe(registry: ConsumerRegistry, ctx: AppContext | None = None) -> None:
    """Register the notification consumers."""
    registry.subscribe_batch("notify.public", [case_events.CasePublicUpdate], on_public_updates)
    registry.subscribe("notify.escalation", [case_events.CaseEscalated], on_escalated)
    registry.subscribe("notify.flagged", [case_events.CaseFlagged], on_flagged)
    registry.subscribe("notify.assigned", [case_events.CaseAssigned], on_assigned)
