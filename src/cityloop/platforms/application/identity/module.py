"""Identity: people, departments, staff roles, API keys, the audit trail, real-name levels and
enterprises with their agents."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.platforms.application.identity import cli, passwords, throttle, totp
from cityloop.platforms.application.identity.account_views import router as account_router
from cityloop.platforms.application.identity.admin_views import router as admin_router
from cityloop.platforms.application.identity.config_views import router as config_router
from cityloop.platforms.application.identity.crew_views import router as crew_router
from cityloop.platforms.application.identity.models import (
    ApiKey,
    AuditEntry,
    Crew,
    CrewMember,
    Department,
    Enterprise,
    EnterpriseAgent,
    LoginThrottle,
    PhoneChallenge,
    RealName,
    RecoveryCode,
    User,
    WorkerPosition,
)
from cityloop.platforms.application.identity.realname_views import router as realname_router
from cityloop.platforms.application.identity.versions import ConfigVersion
from cityloop.platforms.application.identity.views import router


def _bound_password_hashing(ctx: AppContext) -> None:
    passwords.set_concurrency(ctx.settings.password_hash_concurrency)


def _check_totp_roles(ctx: AppContext) -> None:
    # An unknown role in CITYLOOP_TOTP_REQUIRED_ROLES stops the start, not the first sign-in.
    totp.required_roles(ctx.settings)


def _prune_login_throttle(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return throttle.prune(session, policy=throttle.LoginPolicy.from_settings(ctx.settings))


MODULE = Module(
    name="identity",
    models=(
        User,
        Department,
        ApiKey,
        AuditEntry,
        LoginThrottle,
        RealName,
        PhoneChallenge,
        Enterprise,
        EnterpriseAgent,
        Crew,
        CrewMember,
        ConfigVersion,
        RecoveryCode,
        WorkerPosition,
    ),
    routers=(router, account_router, admin_router, realname_router, crew_router, config_router),
    setup=(_bound_password_hashing, _check_totp_roles),
    jobs=(
        ScheduledJob(
            "login-throttle-prune",
            every=lambda settings: settings.login_failure_window_seconds,
            run=_prune_login_throttle,
        ),
    ),
    commands=(cli.install,),
)
