"""NGSI-LD in tests: the API's paths and names, and the credentials its writes need."""

from __future__ import annotations

from typing import Any

from cityloop.demo.seed import DEMO_API_KEY
from tests.support.city import City

API = "/ngsi-ld/v1"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
# The seeded demo API key, for a request that needs credentials.
KEY = {"X-Api-Key": DEMO_API_KEY}


def link(url: str) -> dict[str, str]:
    """A Link header naming ``url`` as the request's @context."""
    return {"Link": f"<{url}>; {REL}"}


def error_type(response: Any) -> str:
    """An NGSI-LD error answer's type, without the errors' base URI (title and detail must be
    there)."""
    body = response.json()
    assert body["title"] and body["detail"]
    return str(body["type"]).removeprefix(ERR)


def range_end(response: Any) -> str:
    """The end of a temporal page's ``Content-Range: date-time <start>-<end>/<size>``: where
    the next page starts (forwards) or ends (backwards)."""
    span = response.headers["Content-Range"].removeprefix("date-time ").rsplit("/", 1)[0]
    return span.split("Z-", 1)[1]


def use_ngsild_key(city: City) -> None:
    """Send the seeded demo API key with every request of this city's client, as NGSI-LD
    writes need credentials."""
    city.client.headers.update(KEY)
