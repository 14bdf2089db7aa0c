from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import Problem
from cityloop.domains.governance import service as governance
from cityloop.platforms.application.identity.deps import current_staff
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.notify import service
from cityloop.platforms.application.notify.models import Notification

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Ctx = Annotated[AppContext, Depends(get_context)]


def _out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "case_id": n.case_id,
        "kind": n.kind,
        "message": n.message,
        "created_at": n.created_at.isoformat(),
        "read": n.read_at is not None,
    }


@router.get("/me/notifications")
def mine(
    ctx: Ctx, user: Annotated[User, Depends(current_staff(allow_citizen=True))]
) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        return [_out(n) for n in service.for_user(session, user.id)]


@router.get("/track/{token}/notifications")
def by_token(ctx: Ctx, token: str) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        report = governance.report_by_token(session, token)
        if report is None:
            raise Problem(404, "not-found", "no report has this tracking token")
        return [_out(n) for n in service.for_report(session, report.id)]
