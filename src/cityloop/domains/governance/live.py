"""The live case feed for staff screens, as server-sent events.

Each connection polls the append-only timeline for rows after the last one it sent. That is one
indexed query a second per open console, and it works unchanged when several server processes
share one database (an in-memory broadcast would only see its own process's changes).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext, get_context
from cityloop.base.locale import request_locale
from cityloop.base.problems import Problem
from cityloop.domains.governance import queries, timeline
from cityloop.domains.governance.messages import Message
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import bearer_token
from cityloop.platforms.application.identity.roles import STAFF_ROLES
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["cases"])
Ctx = Annotated[AppContext, Depends(get_context)]
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0


def _actor(ctx: AppContext, token: str | None) -> Actor:
    if not token:
        raise Problem(
            401, "unauthorized", Message("live.sign_in"), headers={"WWW-Authenticate": "Bearer"}
        )
    with ctx.reading() as session:
        user = identity.user_from_token(
            session, token=token, secret=ctx.settings.resolved_secret_key
        )
    if user.role not in STAFF_ROLES:
        raise Problem(403, "forbidden", Message("live.staff_only"))
    return identity.actor_for(user)


@router.get("/cases-stream", response_class=StreamingResponse)
async def case_stream(
    ctx: Ctx,
    request: Request,
    access_token: Annotated[str | None, Query(max_length=2000)] = None,
    last_event_id: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """`text/event-stream` of `case` events: {case_id, event_id, action, status, department,
    message (the timeline line in the reader's language)}."""
    # EventSource cannot send headers, so the token may also come as a query parameter.
    token = bearer_token(request) or access_token
    actor = _actor(ctx, token)
    locale = request_locale(request)
    header = request.headers.get("last-event-id", "")
    if last_event_id is None and header.isdigit():
        last_event_id = int(header)  # a reconnecting EventSource resumes where it left off

    def poll(viewer: Actor, after: int) -> tuple[int, list[dict[str, object]]]:
        with ctx.reading() as session:
            cursor, rows = queries.changes_since(session, actor=viewer, after_event_id=after)
            return cursor, [
                {
                    "event_id": event.id,
                    "case_id": case.id,
                    "action": event.action,
                    "status": case.status,
                    "department": case.department_code,
                    "message": timeline.message_text(event, locale),
                }
                for event, case in rows
            ]

    async def events() -> AsyncIterator[str]:
        cursor = last_event_id
        if cursor is None:
            with ctx.reading() as session:
                cursor = timeline.latest_event_id(session)
        yield f"retry: 3000\nevent: ready\ndata: {json.dumps({'event_id': cursor})}\n\n"
        idle = 0.0
        checked = time.monotonic()
        current = actor
        while not await request.is_disconnected():
            if time.monotonic() - checked >= ctx.settings.live_account_check_seconds:
                # A deactivated account, or an expired token, ends the feed within one check;
                # a changed role or department applies from here on.
                checked = time.monotonic()
                try:
                    current = await run_in_threadpool(_actor, ctx, token)
                except Problem as ended:
                    reason = ended.detail_in(locale)
                    yield f"event: end\ndata: {json.dumps({'reason': reason})}\n\n"
                    return
            cursor, changes = await run_in_threadpool(poll, current, cursor)
            for change in changes:
                yield f"id: {change['event_id']}\nevent: case\ndata: {json.dumps(change)}\n\n"
            if changes:
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
