"""Citizens' and the public's routes: intake (reports, "me too"), the public case page, the map
and nearby cases, tracking by code, my reports, rating and disputes. Thin: each calls a service
function in one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from cityloop.base import idempotency
from cityloop.base.context import AppContext, get_context
from cityloop.base.db import iso
from cityloop.base.locale import ReaderLocale, request_locale
from cityloop.base.problems import Problem, bad_request, conflict
from cityloop.base.ratelimit import client_key
from cityloop.domains.governance import citizen, queries
from cityloop.domains.governance import responses as out
from cityloop.domains.governance.catalogue import (
    require_category,
)
from cityloop.domains.governance.intake import (
    IntakeResult,
    ReportInput,
    nearby_open_cases,
    prepare_report,
    record_report,
)
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.presenters import (
    public_case_out,
)
from cityloop.domains.governance.schemas import (
    DisputeIn,
    RatingIn,
    ReportIn,
    SupportIn,
)
from cityloop.domains.governance.workflow import is_open_to_join
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import current_staff, optional_user
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import STAFF_ROLES, Role
from cityloop.platforms.application.identity.service import ANONYMOUS, Actor
from cityloop.platforms.application.notify import service as notify
from cityloop.platforms.application.notify.responses import Notification, notification_out

router = APIRouter(prefix="/api/v1", tags=["citizens"])
Ctx = Annotated[AppContext, Depends(get_context)]
# Ids beyond a 32-bit integer name no case; refuse them before PostgreSQL does.
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def run_intake(
    ctx: AppContext,
    request: Request,
    *,
    actor: Actor,
    data: ReportInput,
    reporter_user_id: int | None,
    idempotency_key: str | None,
    scope: str,
    respond: Callable[[IntakeResult], dict[str, object]],
    channel: str | None = None,
) -> tuple[int, dict[str, object]]:
    """Shared by every intake route: rate limit, idempotency, then the report checked before
    the write and written in a group commit, with its idempotency record in the same unit."""
    key = idempotency.check_key(idempotency_key)
    if actor.role not in STAFF_ROLES:
        ctx.rate_limiter.check(client_key(request))
    fingerprint = idempotency.request_fingerprint(
        {"data": data.__dict__, "actor": actor.username, "channel": channel}
    )
    # Accounts scope their keys; an anonymous phone's key is a random UUID that must survive a
    # change of network (Wi-Fi to 4G changes the client address), so it is scoped by itself.
    scope = f"{scope}:{actor.username if actor.user_id else 'anonymous'}"[:60]
    with ctx.reading() as session:
        # A retry is answered as the first time was, even if the report would not pass now.
        previous = idempotency.replay(session, scope, key, fingerprint)
        if previous is not None:
            return previous.status_code, previous.response
        prepared = prepare_report(
            session, actor=actor, data=data, channel=channel, reporter_user_id=reporter_user_id
        )

    def write(session: Session) -> tuple[int, dict[str, object]]:
        previous = idempotency.replay(session, scope, key, fingerprint)
        if previous is not None:  # the same request, sent twice at once
            return previous.status_code, previous.response
        result = record_report(session, prepared=prepared, actor=actor)
        body = respond(result)
        idempotency.remember(session, scope, key, fingerprint, 201, body)
        return 201, body

    return ctx.write_grouped(write)


def _intake_answer(result: IntakeResult, locale: str = "en") -> dict[str, object]:
    """The answer as JSON, in the reporter's ``locale``: it is also stored for an idempotent
    replay."""
    case = result.case
    said = Message(
        "intake.joined" if result.joined_existing else "intake.new_case", {"case": str(case.id)}
    )
    return out.IntakeAnswer(
        case_id=case.id,
        service_request_id=str(case.id),
        report_id=result.report.id,
        tracking_token=result.report.tracking_token,
        short_code=result.report.short_code or "",
        joined_existing=result.joined_existing,
        status=case.status,
        message=said.render(locale),
    ).model_dump(mode="json")


# Intake routes answer a JSONResponse themselves (a replay repeats the stored status and body),
# so their model is declared for the schema.
@router.post("/reports", status_code=201, response_model=out.IntakeAnswer)
def submit_report(
    ctx: Ctx,
    request: Request,
    body: ReportIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Report a problem: a new case, or joined to an open one nearby; anyone, signed in or not,
    rate-limited."""
    user = optional_user(request)
    data = ReportInput(
        category=body.category,
        lat=body.lat,
        lon=body.lon,
        address=body.address,
        description=body.description,
        media_ids=body.media,
        attributes=body.attributes,
        contact_name=body.contact_name,
        contact_email=body.contact_email,
        contact_phone=body.contact_phone,
        priority=body.priority,
    )
    return _intake_reply(
        ctx,
        request,
        user=user,
        data=data,
        reporter_user_id=user.id if user else None,
        idempotency_key=idempotency_key,
        scope="reports",
    )


def _intake_reply(
    ctx: AppContext,
    request: Request,
    *,
    user: User | None,
    data: ReportInput,
    reporter_user_id: int | None,
    idempotency_key: str | None,
    scope: str,
) -> JSONResponse:
    """A public intake route's answer: as the signed-in user, or anonymously."""
    locale = request_locale(request)
    status, answer = run_intake(
        ctx,
        request,
        actor=identity.actor_for(user) if user else ANONYMOUS,
        data=replace(data, locale=locale),
        reporter_user_id=reporter_user_id,
        idempotency_key=idempotency_key,
        scope=scope,
        respond=partial(_intake_answer, locale=locale),
    )
    return JSONResponse(answer, status_code=status)


# ------------------------------------------------------------------ citizens and the public


@router.get("/public/cases/{case_id}")
def public_case(ctx: Ctx, case_id: CaseId, locale: ReaderLocale) -> out.PublicCase:
    """A case as the public sees it, with no reporter data; for anyone."""
    with ctx.reading() as session:
        case, report_photos = citizen.public_case_and_photos(session, case_id=case_id)
        return public_case_out(session, case, locale, report_photos)


@router.get("/public/cases")
def public_map(
    ctx: Ctx,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    category: str | None = None,
    recent_days: Annotated[int, Query(ge=0, le=90)] = 14,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> out.PublicCaseCollection:
    """Open cases and recently closed ones, as GeoJSON, with no reporter data."""
    box = None
    if bbox:
        try:
            min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox.split(","))
        except ValueError as exc:
            raise bad_request(Message("public.bad_bbox"), field="bbox") from exc
        box = (min_lon, min_lat, max_lon, max_lat)
    with ctx.reading() as session:
        rows = queries.public_map_cases(
            session, bbox=box, category=category, recent_days=recent_days, limit=limit
        )
        photos = queries.first_public_photos(session, cases=rows)
        features = [
            out.PublicCaseFeature(
                type="Feature",
                id=case.id,
                geometry=out.PointGeometry(type="Point", coordinates=(case.lon, case.lat)),
                properties=out.PublicCaseProperties(
                    id=case.id,
                    status=case.status,
                    category=case.category_code,
                    created_at=iso(case.created_at),
                    resolution=case.resolution,
                    supporters=case.supporters,
                    photo=photos.get(case.id),
                ),
            )
            for case in rows
        ]
    return out.PublicCaseCollection(type="FeatureCollection", features=features)


@router.get("/public/nearby")
def nearby(
    ctx: Ctx,
    category: Annotated[str, Query(max_length=20)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> list[out.NearbyCase]:
    """Open cases of a category near a point, before a citizen files a report: "me too"
    instead of a new case. Wider than the dedupe radius, so people can recognise theirs."""
    with ctx.reading() as session:
        found = require_category(session, code=category)
        radius = max(150.0, found.dedupe_radius_m * 3.0)
        rows = nearby_open_cases(session, category=found, lat=lat, lon=lon, radius_m=radius)[:10]
        photos = queries.first_public_photos(session, cases=[case for _, case in rows])
        return [
            out.NearbyCase(
                id=case.id,
                status=case.status,
                category=case.category_code,
                distance_m=round(distance, 1),
                lat=case.lat,
                lon=case.lon,
                created_at=iso(case.created_at),
                supporters=case.supporters,
                photo=photos.get(case.id),
                joins_automatically=distance <= found.dedupe_radius_m,
            )
            for distance, case in rows
        ]


@router.get("/track/{token}")
def track(ctx: Ctx, token: str, locale: ReaderLocale) -> out.TrackAnswer:
    """The case behind a report's tracking token, as the public sees it; for whoever holds the
    token."""
    with ctx.reading() as session:
        report = citizen.report_by_token(session, token=token)
        if report is None:
            raise Problem(404, "not-found", Message("intake.unknown_token"))
        case = citizen.public_case(session, case_id=report.case_id)
        return out.TrackAnswer(report_id=report.id, case=public_case_out(session, case, locale))


@router.get("/track", responses={404: {"description": "no report has this case and code"}})
def track_by_code(
    ctx: Ctx,
    request: Request,
    case: Annotated[int, Query(ge=1, le=2_147_483_647, description="the case number")],
    code: Annotated[
        str, Query(min_length=1, max_length=12, description="the report's 6-character code")
    ],
) -> out.TrackAnswer:
    """The case behind a report, by the case number and 6-character code a caller was given;
    for whoever holds both, rate-limited per client. A wrong number or code reads the same."""
    ctx.rate_limiter.check("track:" + client_key(request))
    with ctx.reading() as session:
        report = citizen.report_by_short_code(session, case_id=case, code=code)
        if report is None:
            raise Problem(404, "not-found", Message("governance.no_report_for_code"))
        found = citizen.public_case(session, case_id=report.case_id)
        return out.TrackAnswer(report_id=report.id, case=public_case_out(session, found))


@router.get("/track/{token}/notifications")
def track_notifications(ctx: Ctx, token: str, locale: ReaderLocale) -> list[Notification]:
    """The notifications sent about a report, by its tracking token; for whoever holds the token."""
    with ctx.reading() as session:
        report = citizen.report_by_token(session, token=token)
        if report is None:
            raise Problem(404, "not-found", Message("intake.unknown_token"))
        return [
            notification_out(n, locale) for n in notify.for_report(session, report_id=report.id)
        ]


@router.get("/me/reports")
def my_reports(
    ctx: Ctx,
    user: Annotated[User, Depends(current_staff(allow_citizen=True))],
    locale: ReaderLocale,
) -> list[out.MyReport]:
    """My reports with their tracking tokens and cases, as the public sees them. Only ever
    my own."""
    with ctx.reading() as session:
        return [
            out.MyReport(
                report_id=report.id,
                tracking_token=report.tracking_token,
                short_code=report.short_code,
                submitted_at=iso(report.created_at),
                case=public_case_out(session, case, locale),
            )
            for report, case in citizen.my_reports(session, user_id=user.id)
        ]


def _citizen(request: Request) -> int | None:
    user = optional_user(request)
    return user.id if user else None


@router.post("/public/cases/{case_id}/rating", status_code=201)
def rate(ctx: Ctx, request: Request, case_id: CaseId, body: RatingIn) -> out.RatingAnswer:
    """Rate a closed case, 1 to 5 stars, within the rating window; for its reporters (by account or
    tracking token)."""
    user_id = _citizen(request)

    def write(session: Session) -> out.RatingAnswer:
        rating = citizen.rate_case(
            session,
            case_id=case_id,
            stars=body.stars,
            comment=body.comment,
            user_id=user_id,
            token=body.token,
            window_hours=ctx.settings.rating_window_hours,
        )
        return out.RatingAnswer(case_id=case_id, stars=rating.stars, comment=rating.comment)

    return ctx.write_grouped(write)


@router.post("/public/cases/{case_id}/disputes", status_code=201)
def dispute(ctx: Ctx, request: Request, case_id: CaseId, body: DisputeIn) -> out.DisputeAnswer:
    """Say a closed case is not fixed, within the dispute window; for its reporters (by account or
    tracking token)."""
    user_id = _citizen(request)

    def write(session: Session) -> out.DisputeAnswer:
        found = citizen.dispute_case(
            session,
            case_id=case_id,
            note=body.note,
            media_ids=body.media,
            user_id=user_id,
            token=body.token,
            window_hours=ctx.settings.dispute_window_hours,
        )
        return out.DisputeAnswer(dispute_id=found.id, case_id=case_id, status="open")

    return ctx.write_grouped(write)


@router.post("/public/cases/{case_id}/support", status_code=201, response_model=out.IntakeAnswer)
def support(
    ctx: Ctx,
    request: Request,
    case_id: CaseId,
    body: SupportIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """'Me too': add a report to an open case instead of filing a new one."""
    user = optional_user(request)
    with ctx.reading() as session:
        case = citizen.public_case(session, case_id=case_id)
        if not is_open_to_join(case.status):
            raise conflict(
                Message("intake.case_not_open", {"case": str(case_id), "status": case.status})
            )
        data = ReportInput(
            category=case.category_code,
            lat=case.lat,
            lon=case.lon,
            description=body.description,
            media_ids=body.media,
            contact_email=body.contact_email,
            join_case_id=case.id,
        )
    return _intake_reply(
        ctx,
        request,
        user=user,
        data=data,
        reporter_user_id=user.id if user and user.role == Role.CITIZEN else None,
        idempotency_key=idempotency_key,
        scope="support",
    )
