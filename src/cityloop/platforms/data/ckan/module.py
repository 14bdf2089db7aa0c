"""Open data for CKAN clients: the CKAN action API and DataStore search over the open catalogue."""

from __future__ import annotations

from cityloop.base.modules import Module
from cityloop.platforms.data.ckan.views import install_ckan

MODULE = Module(name="ckan", mounts=(install_ckan,))
