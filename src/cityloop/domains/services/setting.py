"""The workflow's setting for the running city: its clock, and its licence issuer."""

from __future__ import annotations

from fastapi import Request

from cityloop.base.context import AppContext, context_of
from cityloop.domains.services import licences
from cityloop.domains.services.deadlines import Clock
from cityloop.domains.services.lifecycle import Setting
from cityloop.platforms.application.credentials.runtime import authority_of


def setting_for(ctx: AppContext) -> Setting:
    """The setting of this app (built once, kept in the context)."""
    found = ctx.extras.get("services.setting")
    if found is None:
        issuer = licences.issuer_for(authority_of(ctx))
        found = Setting(clock=Clock(ctx.settings.city_timezone), issuer=issuer)
        ctx.extras["services.setting"] = found
    return found


def setting_of(request: Request) -> Setting:
    """The setting of the app serving this request."""
    return setting_for(context_of(request))
