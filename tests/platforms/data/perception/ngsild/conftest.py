"""Fixtures of the NGSI-LD broker's tests."""

from __future__ import annotations

import pytest

from tests.support.city import City
from tests.support.ngsild import use_ngsild_key


@pytest.fixture
def ngsild_credentials(city: City) -> None:
    """Writes under /ngsi-ld/v1 need credentials: the demo API key, on every request of this
    module's city (a module opts in with ``pytestmark = pytest.mark.usefixtures(...)``)."""
    use_ngsild_key(city)
