"""A city with a small catalogue for the CKAN tests: two open datasets, one shared and one
personal, built and published as the platform does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from tests.support.catalogue import publish, spec
from tests.support.city import City

STOPS = spec(
    "test-bus-stops",
    owner_department="roads",
    title="Bus stops",
    title_zh="公交站点",
    description="Every bus stop with its shelter count.",
    description_zh="全市公交站点及候车亭数量。",
    theme="TRAN",
    frequency="MONTHLY",
    keywords=("bus", "transport"),
    licence="CC-BY-4.0",
    spatial="riverton",
    fields=[
        {"name": "code", "type": "string", "title": "Stop code", "description": "As on the pole"},
        {"name": "name", "type": "string"},
        {"name": "district", "type": "string"},
        {"name": "lat", "type": "number"},
        {"name": "lon", "type": "number"},
        {"name": "shelters", "type": "integer"},
        {"name": "accessible", "type": "boolean"},
        {"name": "extra", "type": "object"},
    ],
)
STOP_ROWS = [
    {"code": "S1", "name": "Harbour Gate", "district": "D1", "lat": 31.2, "lon": 121.4,
     "shelters": 2, "accessible": True, "extra": {"lines": [1, 4]}},
    {"code": "S2", "name": "Old Market", "district": "D1", "lat": 31.21, "lon": 121.41,
     "shelters": 0, "accessible": False, "extra": None},
    {"code": "S3", "name": "River Park", "district": "D2", "lat": 31.22, "lon": 121.42,
     "shelters": 1, "accessible": True, "extra": None},
    {"code": "S4", "name": "Station Square", "district": "D3", "lat": 31.23, "lon": 121.43,
     "shelters": 3, "accessible": True, "extra": None},
    {"code": "S5", "name": "Harbour Pier", "district": "D2", "lat": 31.24, "lon": 121.44,
     "shelters": 1, "accessible": False, "extra": None},
]  # fmt: skip
AIR = spec(
    "test-air-quality",
    owner_department="environment",
    title="Air quality",
    title_zh="空气质量",
    description="Daily PM2.5 by monitoring station, some of them beside bus stops.",
    description_zh="各监测站每日 PM2.5。",
    theme="ENVI",
    frequency="DAILY",
    keywords=("air", "pollution", "transport"),
    licence="CC0-1.0",
    fields=[
        {"name": "station", "type": "string"},
        {"name": "day", "type": "date"},
        {"name": "pm25", "type": "number"},
    ],
)
AIR_ROWS = [
    {"station": "North", "day": "2025-03-01", "pm25": 31.5},
    {"station": "South", "day": "2025-03-01", "pm25": 18.0},
]
ROSTER = spec(
    "test-secret-roster",
    owner_department="roads",
    title="Secret roster",
    title_zh="内部排班",
    description="Who is on duty (bus depot).",
    description_zh="值班安排。",
    theme="TRAN",
    keywords=("bus", "hidden-keyword"),
    sensitivity="shared",
    licence="internal",
    fields=[{"name": "shift", "type": "string"}],
)
CITIZENS = spec(
    "test-citizen-files",
    owner_department="water",
    title="Citizen files",
    title_zh="市民档案",
    keywords=("personal-keyword",),
    sensitivity="personal",
    licence="internal",
    theme="SOCI",
    fields=[
        {"name": "user_id", "type": "integer", "x-subject": "user"},
        {"name": "reference", "type": "string"},
    ],
)


@dataclass(frozen=True)
class Catalogue:
    """The published datasets' resource ids, by dataset name and format."""

    resources: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def catalogue(city: City) -> Catalogue:
    for declared, rows in (
        (STOPS, STOP_ROWS),
        (AIR, AIR_ROWS),
        (ROSTER, [{"shift": "night"}]),
        (CITIZENS, [{"reference": "R-1"}]),
    ):
        publish(city, declared, rows)
    resources: dict[str, dict[str, str]] = {}
    with city.ctx.reading() as session:
        query = select(Dataset.name, Distribution.format, Distribution.id).join(
            Distribution, Distribution.dataset_id == Dataset.id
        )
        for name, fmt, resource_id in session.execute(query):
            resources.setdefault(name, {})[fmt] = resource_id
    return Catalogue(resources)


def ckan(
    city: City, action: str, *, post: bool = False, prefix: str = "/api/3/action/", **params: Any
) -> Any:
    """Call an action as a CKAN client does (GET with query parameters, or POST with JSON) and
    answer the HTTP response."""
    url = f"{prefix}{action}"
    if post:
        return city.client.post(url, json=params)
    return city.client.get(url, params=params)


def result(city: City, action: str, **params: Any) -> Any:
    """An action's result, after checking the answer is a CKAN success."""
    response = ckan(city, action, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["result"]
