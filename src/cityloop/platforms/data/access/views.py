"""The citizen's "who read my data" (数据访问记录) over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import current_staff
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.data.access import service
from cityloop.platforms.data.access.responses import DataAccessPage, access_out

router = APIRouter(prefix="/api/v1", tags=["access log"])
Ctx = Annotated[AppContext, Depends(get_context)]


@router.get("/me/data-access", response_model=DataAccessPage)
def my_data_access(
    ctx: Ctx,
    user: Annotated[User, Depends(current_staff(allow_citizen=True))],
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DataAccessPage:
    """Who read my data, when, which fields and why; newest first. Only ever my own."""
    with ctx.reading() as session:
        entries, total = service.accesses_of(session, user_id=user.id, limit=limit, offset=offset)
        departments = {d.code: d for d in identity.list_departments(session)}
        return DataAccessPage(
            total=total,
            limit=limit,
            offset=offset,
            items=[access_out(entry, departments) for entry in entries],
        )
