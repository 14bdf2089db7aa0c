"""The citizen's side of a case: tracking by code, following, rating the outcome and disputing
a close ("still not fixed") within their windows."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict, forbidden, not_found
from cityloop.domains.governance import events, timeline
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, Dispute, Rating, Report
from cityloop.domains.governance.queries import ReportPhotos, case_and_report_photos, reports_of
from cityloop.domains.governance.workflow import Status
from cityloop.platforms.application.identity.service import CITIZEN
from cityloop.platforms.application.media import service as media

MAX_TOKEN = 64
# The short code a caller writes down: no 0/O, 1/I/L, which are misread and misheard.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_CODE_LENGTH = 6
_CODE_SEPARATORS = str.maketrans("", "", " -")


_REPORTS = Report.__table__
_CODE_TAKEN = select(_REPORTS.c.id).where(_REPORTS.c.short_code == bindparam("code"))


def new_short_code(session: Session) -> str:
    """A random 6-character code no report has yet."""
    # 31^6 is about 887 million codes, so a clash is rare; the unique index catches the race.
    # A Core statement on the session's connection: the ORM's machinery around one indexed
    # lookup cost more than the lookup. This unit's own report is not added yet, so there is
    # nothing to flush first.
    connection = session.connection()
    while True:
        code = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))
        if connection.execute(_CODE_TAKEN, {"code": code}).first() is None:
            return code


def report_by_short_code(session: Session, *, case_id: int, code: str) -> Report | None:
    """The report with this code on this case (or on the case it was merged into), if any."""
    code = code.translate(_CODE_SEPARATORS).upper()
    if len(code) != SHORT_CODE_LENGTH:
        return None
    report = session.scalar(select(Report).where(Report.short_code == code))
    if report is None:
        return None
    # The caller was told the case number of the day; a merge since then moved the report on.
    seen: set[int] = set()
    current = session.get(Case, case_id)
    while current is not None and current.id not in seen:
        if current.id == report.case_id:
            return report
        seen.add(current.id)
        current = session.get(Case, current.merged_into) if current.merged_into else None
    return None


def report_by_token(session: Session, *, token: str) -> Report | None:
    """The report with this tracking code, if any."""
    if not token or len(token) > MAX_TOKEN:
        return None
    return session.scalar(select(Report).where(Report.tracking_token == token))


def follower_report(
    session: Session, *, case: Case, user_id: int | None, token: str | None
) -> Report:
    """The report through which this citizen follows the case: theirs by account or token."""
    if token:
        report = report_by_token(session, token=token)
        if report is not None and report.case_id == case.id:
            return report
    if user_id is not None:
        report = session.scalar(
            select(Report)
            .where(Report.case_id == case.id, Report.reporter_user_id == user_id)
            .order_by(Report.id)
        )
        if report is not None:
            return report
    raise forbidden(Message("governance.only_reporter_supporter_case"))


def public_case(session: Session, *, case_id: int) -> Case:
    """The case by id for a public view, or a 404."""
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    return case


def public_case_and_photos(session: Session, *, case_id: int) -> tuple[Case, ReportPhotos]:
    """The case by id with its reports' photos, in one query, for the public page; or a 404."""
    found = case_and_report_photos(session, case_id=case_id)
    if found is None:
        raise not_found("case", case_id)
    return found


def _window_passed(case: Case, window_hours: int) -> bool:
    return bool(case.closed_at and utcnow() > case.closed_at + timedelta(hours=window_hours))


def rate_case(
    session: Session,
    *,
    case_id: int,
    stars: int,
    comment: str,
    user_id: int | None,
    token: str | None,
    window_hours: int,
) -> Rating:
    """A follower's rating of a closed case (one per report; a later one replaces it)."""
    case = public_case(session, case_id=case_id)
    if case.status != Status.CLOSED:
        raise conflict(Message("governance.case_rated_once_closed"), type_="illegal-transition")
    if not 1 <= stars <= 5:
        raise bad_request(Message("governance.stars_range"), field="stars")
    if _window_passed(case, window_hours):
        raise conflict(Message("governance.rating_window_case_passed"), type_="window-passed")
    report = follower_report(session, case=case, user_id=user_id, token=token)
    rating = session.scalar(select(Rating).where(Rating.report_id == report.id))
    if rating is None:
        rating = Rating(case_id=case.id, report_id=report.id, stars=stars, comment=comment)
        session.add(rating)
    else:  # a citizen may change their mind; one rating per report
        rating.stars, rating.comment, rating.at = stars, comment, utcnow()
    session.flush()
    timeline.record(
        session,
        case=case,
        action="evaluate",
        actor=CITIZEN,
        to_status=case.status,
        data={"stars": stars, "report_id": report.id},
    )
    emit(session, events.CaseRated(case_id=case.id, rating_id=rating.id, stars=stars))
    return rating


def dispute_case(
    session: Session,
    *,
    case_id: int,
    note: str,
    media_ids: list[str],
    user_id: int | None,
    token: str | None,
    window_hours: int,
) -> Dispute:
    """A follower says a closed case is still not fixed: the supervision centre must answer."""
    case = public_case(session, case_id=case_id)
    if case.status != Status.CLOSED:
        raise conflict(Message("governance.only_closed_case_disputed"), type_="illegal-transition")
    if _window_passed(case, window_hours):
        raise conflict(
            Message("governance.dispute_window_h_after", {"window_hours": str(window_hours)}),
            type_="window-passed",
        )
    if not note.strip():
        raise bad_request(Message("governance.say_what_still_wrong"), field="note")
    report = follower_report(session, case=case, user_id=user_id, token=token)
    ids = media.require_media(session, media_ids=media_ids, field="media")
    dispute = Dispute(case_id=case.id, report_id=report.id, note=note.strip(), media_ids=ids)
    session.add(dispute)
    case.dispute_open = True
    case.updated_at = utcnow()
    session.flush()
    timeline.record(
        session,
        case=case,
        action="dispute",
        actor=CITIZEN,
        to_status=case.status,
        message=Message("disputed"),
        note=note.strip(),
        note_public=True,
        attachments=ids,
        data={"dispute_id": dispute.id, "report_id": report.id},
    )
    emit(
        session,
        events.CaseEscalated(
            case_id=case.id, department=case.department_code, by="citizen", reason="dispute"
        ),
    )
    return dispute


def my_reports(session: Session, *, user_id: int) -> list[tuple[Report, Case]]:
    """A citizen's reports with their cases, newest first."""
    rows = session.execute(
        select(Report, Case)
        .join(Case, Case.id == Report.case_id)
        .where(Report.reporter_user_id == user_id)
        .order_by(Report.id.desc())
    ).all()
    return [(r, c) for r, c in rows]


def followers(session: Session, *, case_id: int) -> list[Report]:
    """Every report that follows the case: the reporter and every supporter."""
    return reports_of(session, case_id=case_id)


def followers_of(session: Session, *, case_ids: list[int]) -> dict[int, list[Report]]:
    """:func:`followers` of many cases in one query, by case (every case given has a list)."""
    found: dict[int, list[Report]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        query = select(Report).where(Report.case_id.in_(case_ids)).order_by(Report.id)
        for report in session.scalars(query):
            found[report.case_id].append(report)
    return found
