"""Walking a temporal series page by page (ETSI GS CIM 009 6.3.10, 4.11): a client continuing
from each page's Content-Range end (``after`` forwards, which includes timeAt; ``before``
backwards, which leaves it out) gets every instance exactly once, also when instances share
an instant at a page's boundary or more of them share one instant than a page holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, range_end

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TEMPORAL = API + "/temporal/entities"


@pytest.fixture
def page_of_three(city: City) -> Iterator[None]:
    """A server page of three instances per attribute, for the length of one test."""
    city.ctx.settings.ngsild_temporal_page = 3
    try:
        yield
    finally:
        city.ctx.settings.ngsild_temporal_page = 1000


def instance(minute: int, dataset: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "Property",
        "value": minute,
        "observedAt": f"2021-03-01T00:{minute:02}:00Z",
    }
    if dataset is not None:
        item["datasetId"] = f"urn:ngsi-ld:Dataset:{dataset}"
    return item


def provision(city: City, entity_id: str, **attributes: list[dict[str, Any]]) -> str:
    body = {"id": entity_id, "type": "Meter", **attributes}
    response = city.client.post(TEMPORAL, json=body)
    assert response.status_code in (201, 204), response.text
    return f"{TEMPORAL}/{entity_id}"


def seen(page: Any) -> list[tuple[str, str, str]]:
    """The (attribute, time, datasetId) of every instance a page holds."""
    return [
        (name, item["observedAt"][11:16], item.get("datasetId", "")[-1:])
        for name, items in page.json().items()
        if isinstance(items, list)
        for item in items
    ]


def walk(city: City, url: str, params: dict[str, str], backwards: bool = False) -> list[Any]:
    """Every instance of every page, continuing from each 206's range end until a 200."""
    got: list[Any] = []
    asked = dict(params)
    for _ in range(20):
        page = city.client.get(url, params=asked)
        assert page.status_code in (200, 206), page.text
        got += seen(page)
        if page.status_code == 200:
            return got
        timerel = "before" if backwards else "after"
        asked = {**params, "timerel": timerel, "timeAt": range_end(page)}
    raise AssertionError("the pages never ended")


@pytest.mark.usefixtures("page_of_three")
def test_after_includes_time_at(city: City) -> None:
    """4.11: an instance at timeAt itself is part of timerel=after."""
    url = provision(city, "urn:ngsi-ld:Meter:after", power=[instance(m) for m in range(3)])
    response = city.client.get(url, params={"timerel": "after", "timeAt": "2021-03-01T00:01:00Z"})
    assert response.status_code == 200
    assert [t for _, t, _ in seen(response)] == ["00:01", "00:02"]


@pytest.mark.usefixtures("page_of_three")
def test_the_range_ends_at_the_first_instant_left_out(city: City) -> None:
    """Forwards, the Content-Range end is where the next page starts: not returned here."""
    url = provision(city, "urn:ngsi-ld:Meter:end", power=[instance(m) for m in range(5)])
    response = city.client.get(url)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == (
        "date-time 2021-03-01T00:00:00Z-2021-03-01T00:03:00Z/*"
    )
    assert [t for _, t, _ in seen(response)] == ["00:00", "00:01", "00:02"]


@pytest.mark.usefixtures("page_of_three")
def test_walking_forwards_over_two_series_gets_every_instance_once(city: City) -> None:
    url = provision(
        city,
        "urn:ngsi-ld:Meter:two",
        power=[instance(m) for m in range(8)],
        voltage=[instance(m) for m in range(4, 11)],
    )
    got = walk(city, url, {})
    expected = [("power", f"00:{m:02}", "") for m in range(8)]
    expected += [("voltage", f"00:{m:02}", "") for m in range(4, 11)]
    assert sorted(got) == sorted(expected)


@pytest.mark.usefixtures("page_of_three")
@pytest.mark.parametrize("backwards", [False, True])
def test_instances_sharing_an_instant_are_never_split_between_pages(
    city: City, backwards: bool
) -> None:
    """Two datasetIds observed at the same minutes: a page of three would end inside a minute,
    so it ends before that minute instead, and the next page starts with both instances."""
    entity_id = f"urn:ngsi-ld:Meter:ties-{'back' if backwards else 'forth'}"
    both = [instance(m, dataset) for m in range(6) for dataset in (None, "b")]
    url = provision(city, entity_id, power=both)
    params = {"lastN": "100"} if backwards else {}
    first = city.client.get(url, params=params)
    assert first.status_code == 206
    assert len(seen(first)) == 2  # one whole minute: both datasets, never one of them
    got = walk(city, url, params, backwards=backwards)
    expected = [("power", f"00:{m:02}", d) for m in range(6) for d in ("", "b")]
    assert sorted(got) == expected


@pytest.mark.usefixtures("page_of_three")
@pytest.mark.parametrize("backwards", [False, True])
def test_more_instances_at_one_instant_than_a_page_holds_come_together(
    city: City, backwards: bool
) -> None:
    """A page cannot end inside its only instant without standing still: it holds all of it."""
    entity_id = f"urn:ngsi-ld:Meter:crowd-{'back' if backwards else 'forth'}"
    minute = 5 if backwards else 0
    crowd = [instance(minute, dataset) for dataset in "abcde"]
    url = provision(city, entity_id, power=[*crowd, instance(2)])
    params = {"lastN": "100"} if backwards else {}
    first = city.client.get(url, params=params)
    assert first.status_code == 206
    assert [d for _, _, d in seen(first)] == list("abcde")
    got = walk(city, url, params, backwards=backwards)
    assert sorted(got) == sorted(
        [("power", "00:02", ""), *(("power", f"00:0{minute}", d) for d in "abcde")]
    )
