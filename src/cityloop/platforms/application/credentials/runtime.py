"""The credential platform's per-process helpers, kept in the app context: the authority (key
vault, base URL), the cache of parsed public keys and the verify route's rate limiter. Callers
(routes, the services domain, the CLI) get them here."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.ratelimit import RateLimiter
from cityloop.platforms.application.credentials.keys import KeyVault
from cityloop.platforms.application.credentials.service import Authority, PublicKeyCache
from cityloop.settings import Settings

AUTHORITY = "credentials.authority"
PUBLIC_KEYS = "credentials.public_keys"
VERIFY_LIMITER = "credentials.verify_limiter"


def authority_for(settings: Settings) -> Authority:
    """The authority of these settings (a new key vault: its cache starts empty)."""
    return Authority(
        vault=KeyVault(settings.resolved_secret_key),
        base_url=settings.public_base_url,
        status_valid_seconds=int(settings.credential_status_list_hours * 3600),
    )


def install(ctx: AppContext) -> None:
    """Module setup: build the helpers once per process."""
    ctx.extras[AUTHORITY] = authority_for(ctx.settings)
    ctx.extras[PUBLIC_KEYS] = PublicKeyCache()
    ctx.extras[VERIFY_LIMITER] = RateLimiter(
        ctx.settings.credential_verify_rate_limit, what="verifications", what_zh="核验"
    )


def authority_of(ctx: AppContext) -> Authority:
    """The authority that issues and publishes for this app."""
    if AUTHORITY not in ctx.extras:
        install(ctx)
    authority: Authority = ctx.extras[AUTHORITY]
    return authority


def public_keys_of(ctx: AppContext) -> PublicKeyCache:
    if PUBLIC_KEYS not in ctx.extras:
        install(ctx)
    keys: PublicKeyCache = ctx.extras[PUBLIC_KEYS]
    return keys


def verify_limiter_of(ctx: AppContext) -> RateLimiter:
    if VERIFY_LIMITER not in ctx.extras:
        install(ctx)
    limiter: RateLimiter = ctx.extras[VERIFY_LIMITER]
    return limiter
