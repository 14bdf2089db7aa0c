"""The calendar over HTTP: the table (public), its upkeep (admins) and deadline questions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.calendar import service
from cityloop.platforms.application.calendar.models import CalendarDay
from cityloop.platforms.application.calendar.responses import (
    CalendarDayIn,
    CalendarDayOut,
    CalendarImportIn,
    CalendarImportOut,
    HolidayTable,
    WorkingDayDeadline,
)
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
DayPath = Annotated[date, Path(description="YYYY-MM-DD")]


def _day_out(row: CalendarDay) -> CalendarDayOut:
    return CalendarDayOut(
        day=row.day.isoformat(),
        kind=row.kind,  # type: ignore[arg-type]
        name=row.name,
        name_zh=row.name_zh,
        source=row.source,
    )


@router.get("/days", response_model=HolidayTable)
def days(ctx: Ctx, year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> HolidayTable:
    """The holiday table: national holidays and adjusted working weekend days."""
    with ctx.reading() as session:
        return HolidayTable(
            known_years=service.known_years(session),
            days=[_day_out(row) for row in service.list_days(session, year=year)],
        )


def _day_state(row: CalendarDay | None, day: date) -> dict[str, object]:
    if row is None:
        return {"day": day.isoformat(), "kind": "weekday-rule"}
    return {"day": day.isoformat(), "kind": row.kind, "name": row.name, "name_zh": row.name_zh}


def _versioned(
    session: Session,
    *,
    day: date,
    action: str,
    before: dict[str, object],
    after: dict[str, object],
    actor: Actor,
    detail: dict[str, object] | None = None,
) -> None:
    # A day has no edit counter of its own: its versions are numbered as they come (no
    # optimistic check; the last word on a holiday is the one that stands).
    key = day.isoformat()
    versions.record(
        session,
        kind="calendar",
        key=key,
        version=versions.next_version(session, kind="calendar", key=key),
        action=action,
        state=after,
        before=before,
        actor=actor,
        detail=detail,
    )


@router.put("/days/{day}", response_model=CalendarDayOut)
def set_day(ctx: Ctx, day: DayPath, body: CalendarDayIn, actor: Admin) -> CalendarDayOut:
    """Make a day a holiday or a working day (versioned and audited); admins only."""
    with ctx.writing() as session:
        before = _day_state(session.get(CalendarDay, day), day)
        row = service.set_day(
            session, day=day, kind=body.kind, name=body.name, name_zh=body.name_zh
        )
        _versioned(
            session,
            day=day,
            action="set",
            before=before,
            after=_day_state(row, day),
            actor=actor,
            detail={"kind": body.kind, "name": body.name},
        )
        return _day_out(row)


@router.delete("/days/{day}", status_code=204, response_class=Response)
def clear_day(ctx: Ctx, day: DayPath, actor: Admin) -> Response:
    """Take a day out of the table: it follows its weekday again (versioned and audited);
    admins only."""
    with ctx.writing() as session:
        before = _day_state(session.get(CalendarDay, day), day)
        service.clear_day(session, day=day)
        _versioned(
            session,
            day=day,
            action="clear",
            before=before,
            after=_day_state(None, day),
            actor=actor,
        )
    return Response(status_code=204)


@router.post("/import", response_model=CalendarImportOut)
def import_year(ctx: Ctx, body: CalendarImportIn, actor: Admin) -> CalendarImportOut:
    """Load a year's days from the chinese-calendar package (audited)."""
    with ctx.writing() as session:
        written = service.import_year(session, year=body.year)
        identity.audit(
            session,
            actor=actor,
            action="calendar.import",
            target=f"calendar:{body.year}",
            detail={"written": written},
        )
    return CalendarImportOut(year=body.year, written=written)


@router.get("/deadline", response_model=WorkingDayDeadline)
def deadline(
    ctx: Ctx,
    start: Annotated[datetime, Query(description="when the clock starts, with a time zone")],
    days: Annotated[int, Query(description="the time limit in working days")],
) -> WorkingDayDeadline:
    """When a time limit of ``days`` working days from ``start`` runs out."""
    zone = ctx.settings.city_timezone
    with ctx.reading() as session:
        found = service.deadline(session, start=start, days=days, timezone=zone)
    assert found.due is not None and found.last_day is not None
    return WorkingDayDeadline(
        start=start.isoformat(),
        days=days,
        timezone=zone,
        due=found.due.isoformat(),
        last_day=found.last_day.isoformat(),
        unknown_years=found.unknown_years,
    )
