"""Media: photo uploads, cleaned and stored, with thumbnails."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module
from cityloop.base.ratelimit import RateLimiter
from cityloop.platforms.application.media.models import Media
from cityloop.platforms.application.media.views import router


def _limiter(ctx: AppContext) -> None:
    # Photos come several to a report, so their limit is four times the intake limit.
    ctx.extras["media_limiter"] = RateLimiter(ctx.settings.intake_rate_limit * 4)


MODULE = Module(name="media", models=(Media,), routers=(router,), setup=(_limiter,))
