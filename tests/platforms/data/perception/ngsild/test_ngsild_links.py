"""Links the NGSI-LD broker hands out name the deployment's public address
(CITYLOOP_PUBLIC_BASE_URL), never the Host header a client sent."""

from __future__ import annotations

import pytest

from tests.support.city import City
from tests.support.ngsild import API

pytestmark = pytest.mark.usefixtures("ngsild_credentials")
CONTEXT = {"@context": {"Wagen": "https://schema.org/Car"}}


def test_a_hosted_contexts_location_and_url_ignore_the_host_header(city: City) -> None:
    base = city.ctx.settings.public_base_url.rstrip("/")
    created = city.client.post(
        API + "/jsonldContexts", json=CONTEXT, headers={"Host": "evil.example"}
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location.startswith(API + "/jsonldContexts/")
    listed = city.client.get(
        API + "/jsonldContexts", params={"details": "true"}, headers={"Host": "evil.example"}
    )
    assert listed.status_code == 200, listed.text
    urls = [info["URL"] for info in listed.json() if isinstance(info, dict)]
    assert urls and not any("evil.example" in url for url in urls)
    assert all(url.startswith(base) for url in urls if "/jsonldContexts/" in url)
