from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity.deps import current_staff
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.notify import service
from cityloop.platforms.application.notify.models import Notification

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Ctx = Annotated[AppContext, Depends(get_context)]


def notification_out(n: Notification) -> dict[str, Any]:
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
        return [notification_out(n) for n in service.for_user(session, user.id)]
