"""Media: photo uploads, cleaned and stored, with thumbnails."""

from __future__ import annotations

import anyio

from cityloop.base.context import AppContext
from cityloop.base.limits import MULTIPART_OVERHEAD, BodyLimit
from cityloop.base.modules import Module
from cityloop.base.ratelimit import RateLimiter
from cityloop.platforms.application.media.models import Media
from cityloop.platforms.application.media.views import router


def _limiter(ctx: AppContext) -> None:
    # Photos come several to a report, so their limit is four times the intake limit.
    ctx.extras["media_limiter"] = RateLimiter(ctx.settings.intake_rate_limit * 4)
    # One per process (one context per process): decoding is what costs memory.
    ctx.extras["media_decodes"] = anyio.CapacityLimiter(ctx.settings.media_decode_slots)


MODULE = Module(
    name="media",
    models=(Media,),
    routers=(router,),
    setup=(_limiter,),
    body_limits=(BodyLimit("/api/v1/media", lambda s: s.media_max_bytes + MULTIPART_OVERHEAD),),
)
