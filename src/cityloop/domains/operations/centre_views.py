"""The operations centre screen's routes: the city map, heat by area, and the live feed. Thin:
the layers, the scope and the change log are in ``citymap.py`` and ``live.py``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext, get_context
from cityloop.base.locale import request_locale
from cityloop.base.problems import Problem
from cityloop.domains.operations import citymap, live
from cityloop.domains.operations import responses as out
from cityloop.domains.operations.cuts import require_reader
from cityloop.domains.operations.messages import Message
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import bearer_token, staff_actor
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
POLL_SECONDS = 1.0
# Device states follow from time passing: compared this often on each open feed.
DEVICE_SECONDS = 10.0
HEARTBEAT_SECONDS = 15.0


def _record_position_reads(ctx: AppContext, actor: Actor, user_ids: list[int], *, via: str) -> None:
    """Audit a read of workers' positions and log it for each worker, in the group commit."""

    def write(session: Session) -> None:
        citymap.record_position_reads(session, actor=actor, user_ids=user_ids, via=via)

    ctx.write_grouped(write)


def _layer(columns: tuple[str, ...], rows: list[list[Any]] | None) -> dict[str, Any] | None:
    return None if rows is None else {"columns": list(columns), "rows": rows}


@router.get("/map", response_model=out.CityMapAnswer)
def city_map(
    ctx: Ctx,
    actor: Staff,
    layers: Annotated[
        str | None,
        Query(max_length=100, description="comma-separated: cases, alarms, devices, crews"),
    ] = None,
) -> Response:
    """The city on one map (运行中心): open cases by status, priority and overdue; active alarms
    at their device; devices by state with last seen and battery; crews and where their workers
    reported last (personal data: each read is audited and logged for the worker). Staff and
    leaders, scoped like the KPIs."""
    chosen = citymap.parse_layers(layers)
    with ctx.reading() as session:
        cursor = live.latest_change_id(session)
        answer = citymap.city_map(session, actor=actor, layers=chosen)
    if answer.positions_read:
        _record_position_reads(ctx, actor, answer.positions_read, via="operations:map")
    body = {
        "generated_at": answer.generated_at.isoformat(),
        "scope": answer.scope,
        "live_cursor": cursor,
        "cases": _layer(citymap.CASE_COLUMNS, answer.cases),
        "alarms": _layer(citymap.ALARM_COLUMNS, answer.alarms),
        "devices": _layer(citymap.DEVICE_COLUMNS, answer.devices),
        "workers": _layer(citymap.WORKER_COLUMNS, answer.workers),
        "crews": answer.crews,
    }
    # Written straight out: validating 100,000 rows through the response model would cost more
    # than reading them (the model still documents the shape, and tests check it).
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.get("/areas")
def area_heat(
    ctx: Ctx,
    actor: Staff,
    level: Annotated[str, Query(max_length=20)] = "district",
    measure: Annotated[str, Query(max_length=20)] = "count",
) -> out.AreaHeatAnswer:
    """Heat by area for the map's outlines: per district, street or grid, the open cases, the
    overdue ones and ``value`` (``count``: open cases; ``overdue_share``: overdue / open).
    Staff and leaders, within their scope."""
    with ctx.reading() as session:
        areas = citymap.area_heat(session, actor=actor, level=level, measure=measure)
    return out.AreaHeatAnswer.model_validate({"level": level, "measure": measure, "areas": areas})


def _feed_actor(ctx: AppContext, token: str | None) -> Actor:
    if not token:
        raise Problem(
            401,
            "unauthorized",
            Message("operations.live_sign_in"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    with ctx.reading() as session:
        user = identity.user_from_token(
            session, token=token, secret=ctx.settings.resolved_secret_key
        )
    actor = identity.actor_for(user)
    require_reader(actor)
    return actor


def _event(kind: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get("/live", response_class=StreamingResponse)
async def live_feed(
    ctx: Ctx,
    request: Request,
    access_token: Annotated[str | None, Query(max_length=2000)] = None,
    last_event_id: Annotated[str | None, Query(max_length=20)] = None,
) -> StreamingResponse:
    """`text/event-stream` of the map's changes within the reader's scope: `case` (a fact:
    id, lat, lon, status, priority, open, resolution_due, category, district, department),
    `alarm` (raised, acknowledged or cleared), `device` (a state that changed) and `position`
    (a crew member's report). Resumable with Last-Event-ID (header or query); the token as a
    bearer header or `access_token`."""
    token = bearer_token(request) or access_token
    actor = _feed_actor(ctx, token)
    locale = request_locale(request)
    resume = live.check_cursor(last_event_id or request.headers.get("last-event-id"))

    def poll(viewer: Actor, after: int, gaps: dict[int, float]) -> live.Poll:
        with ctx.reading() as session:
            answer = live.changes_since(session, actor=viewer, after=after, gaps=list(gaps))
        readers = [int(c.data["user_id"]) for c in answer.changes if c.kind == "position"]
        if readers:
            _record_position_reads(ctx, viewer, readers, via="operations:live")
        return answer

    def devices(viewer: Actor) -> dict[str, dict[str, Any]]:
        with ctx.reading() as session:
            return live.device_states(session, actor=viewer)

    async def events() -> AsyncIterator[str]:
        cursor = resume
        if cursor is None:
            with ctx.reading() as session:
                cursor = live.latest_change_id(session)
        known = await run_in_threadpool(devices, actor)
        yield f"retry: 3000\n{_event('ready', {'event_id': cursor})}"
        idle = 0.0
        checked = compared = time.monotonic()
        current = actor
        gaps: dict[int, float] = {}  # ids skipped by a poll, and when they were first missed
        while not await request.is_disconnected():
            if time.monotonic() - checked >= ctx.settings.live_account_check_seconds:
                # A deactivated account or an expired token ends the feed within one check.
                checked = time.monotonic()
                try:
                    current = await run_in_threadpool(_feed_actor, ctx, token)
                except Problem as ended:
                    yield _event("end", {"reason": ended.detail_in(locale)})
                    return
            answer = await run_in_threadpool(poll, current, cursor, gaps)
            now = time.monotonic()
            gaps = {
                gap: gaps.get(gap, now)
                for gap in answer.missing
                if now - gaps.get(gap, now) < live.GAP_SECONDS
            }
            sent = bool(answer.changes)
            for change in answer.changes:
                # A late change below the cursor goes without an id: a reconnect resumes from
                # the highest id sent, not from this one.
                late = change.id <= cursor
                yield _event(change.kind, change.data, None if late else change.id)
            cursor = answer.cursor
            if time.monotonic() - compared >= DEVICE_SECONDS:
                compared = time.monotonic()
                now_known = await run_in_threadpool(devices, current)
                for device in live.state_changes(known, now_known):
                    yield _event("device", device)
                    sent = True
                known = now_known
            if sent:
                idle = 0.0
            else:
                idle += POLL_SECONDS
                if idle >= HEARTBEAT_SECONDS:
                    idle = 0.0
                    yield ": heartbeat\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
