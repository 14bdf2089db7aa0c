"""Geo: jurisdictions (districts, streets, grid cells), point-in-polygon and geocoding."""

from cityloop.base.modules import Module
from cityloop.platforms.application.geo.models import Jurisdiction, MapFeature
from cityloop.platforms.application.geo.views import router

MODULE = Module(name="geo", models=(Jurisdiction, MapFeature), routers=(router,))
