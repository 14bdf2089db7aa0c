"""The console's view of the access log (数据访问记录): the entries and the chain's state, for
administrators and the supervision centre."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access import staff
from cityloop.platforms.data.access.responses import (
    ChainStatus,
    StaffAccessPage,
    chain_status,
    staff_access_out,
)
from cityloop.platforms.data.access.views import Chosen, Limit, Offset, departments_of

router = APIRouter(prefix="/api/v1/data", tags=["access log"])
Ctx = Annotated[AppContext, Depends(get_context)]
LogReader = Annotated[Actor, Depends(require_roles(*staff.LOG_READERS))]


@router.get("/access-log", response_model=StaffAccessPage)
def access_log(
    ctx: Ctx,
    actor: LogReader,
    filters: Chosen,
    user_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    username: Annotated[str | None, Query(max_length=80)] = None,
    uscc: Annotated[str | None, Query(max_length=40)] = None,
    reader: Annotated[
        str | None, Query(alias="actor", max_length=120, description="who read: a username")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> StaffAccessPage:
    """Every read of people's and enterprises' data, newest first, filtered; audited."""
    whose = staff.Whose(user_id=user_id, username=username, uscc=uscc, actor=reader)
    with ctx.writing() as session:
        entries, total, usernames = staff.read_log(
            session, actor=actor, filters=filters.checked(session, ctx), whose=whose,
            limit=limit, offset=offset,
        )  # fmt: skip
        departments = departments_of(session)
        return StaffAccessPage(
            total=total,
            limit=limit,
            offset=offset,
            items=[staff_access_out(e, departments, usernames) for e in entries],
        )


@router.get("/access-log/chain", response_model=ChainStatus)
def access_log_chain(ctx: Ctx, actor: LogReader) -> ChainStatus:
    """Whether the log's hash chain and signed checkpoints are intact; audited."""
    with ctx.reading() as session:
        report, latest = staff.chain_state(session, actor=actor)
        answer = chain_status(report, latest)
    ctx.write_grouped(partial(staff.audit_chain_check, actor=actor, report=report))
    return answer
