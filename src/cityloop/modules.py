"""The packages that make up this CityLoop, in layer order: the base, the platforms, the domains,
then the bridges. Each names a package holding a ``module.py`` with its declaration
(:class:`cityloop.base.modules.Module`). Adding a domain adds one line here."""

from __future__ import annotations

import importlib
from functools import cache

from cityloop.base.modules import Module

PACKAGES: tuple[str, ...] = (
    "cityloop.base",
    "cityloop.platforms.application.identity",
    "cityloop.platforms.application.geo",
    "cityloop.platforms.application.media",
    "cityloop.platforms.application.notify",
    "cityloop.platforms.application.webhooks",
    "cityloop.platforms.application.calendar",
    "cityloop.platforms.application.appointments",
    "cityloop.platforms.application.credentials",
    "cityloop.platforms.data.perception",
    "cityloop.platforms.data.access",
    "cityloop.platforms.data.catalogue",
    "cityloop.platforms.data.sharing",
    "cityloop.platforms.data.ckan",
    "cityloop.domains.governance",
    "cityloop.domains.services",
    "cityloop.domains.operations",
    "cityloop.bridges",
)


@cache
def load_modules() -> tuple[Module, ...]:
    """Every package's declaration, in the order above."""
    return tuple(importlib.import_module(f"{name}.module").MODULE for name in PACKAGES)
