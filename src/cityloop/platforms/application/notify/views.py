from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cityloop.base.context import AppContext, get_context
from cityloop.base.locale import ReaderLocale
from cityloop.platforms.application.identity.deps import current_staff
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.notify import service
from cityloop.platforms.application.notify.responses import Notification, notification_out

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Ctx = Annotated[AppContext, Depends(get_context)]


@router.get("/me/notifications")
def mine(
    ctx: Ctx,
    user: Annotated[User, Depends(current_staff(allow_citizen=True))],
    locale: ReaderLocale,
) -> list[Notification]:
    """My notifications, newest first, in my language. Only ever my own."""
    with ctx.reading() as session:
        return [notification_out(n, locale) for n in service.for_user(session, user_id=user.id)]
