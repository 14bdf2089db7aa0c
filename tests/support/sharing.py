"""Grants between departments for tests: request, decide, read, as the departments' handlers do
over HTTP; and shared and personal datasets to read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cityloop.platforms.data.catalogue import producers
from tests.support.catalogue import spec
from tests.support.city import City

GRANTS = "/api/v1/data/grants"
PURPOSE = "Checking allowance recipients against our own register"
LEGAL_BASIS = "政务信息资源共享管理暂行办法（国发〔2016〕51号）第十条"


def call(
    city: City, method: str, path: str, username: str, expect: int = 200, **kwargs: Any
) -> Any:
    """An HTTP call as ``username``, which must answer ``expect``; the JSON answer."""
    response = city.client.request(method, path, headers=city.headers(username), **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


def request(
    city: City, username: str, name: str, kind: str = "dataset", expect: int = 201, **body: Any
) -> Any:
    """A department's request for a grant on a dataset or a lookup."""
    payload = {"kind": kind, "name": name, "purpose": PURPOSE, "legal_basis": LEGAL_BASIS, **body}
    return call(city, "POST", GRANTS, username, expect, json=payload)


def later(**delta: float) -> str:
    """A moment from now, as ISO 8601 in UTC."""
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def approve(city: City, grant_id: int, username: str, expect: int = 200, **body: Any) -> Any:
    """The owner's approval (a day long unless ``expires_at`` says otherwise)."""
    payload = {"expires_at": later(days=1), **body}
    return call(city, "POST", f"{GRANTS}/{grant_id}/approve", username, expect, json=payload)


def rows(city: City, dataset: str, username: str, expect: int = 200, **query: Any) -> Any:
    """A read of a shared dataset's rows."""
    path = f"/api/v1/data/shared/{dataset}/rows"
    return call(city, "GET", path, username, expect, params=query)


def ask(city: City, lookup: str, username: str, expect: int = 200, **body: Any) -> Any:
    """A question to a live lookup."""
    return call(city, "POST", f"/api/v1/data/lookups/{lookup}", username, expect, json=body)


# Allowances the civil affairs bureau pays: one row per person (a personal dataset).
ALLOWANCES = spec(
    "test-allowance-recipients",
    owner_department="civil",
    sensitivity="personal",
    licence="internal",
    fields=[
        {"name": "user_id", "type": "integer", "x-subject": "user"},
        {"name": "name", "type": "string", "x-access-field": "legal_name"},
        {"name": "phone", "type": "string", "x-access-field": "phone"},
        {"name": "district", "type": "string"},
        {"name": "monthly_yuan", "type": "integer"},
    ],
)
# Street-vending pitches urban management lets: no one's personal data (a shared dataset).
PITCHES = spec(
    "test-vending-pitches",
    owner_department="urbanmgmt",
    sensitivity="shared",
    licence="internal",
    fields=[
        {"name": "pitch", "type": "string"},
        {"name": "district", "type": "string"},
        {"name": "goods", "type": "string"},
        {"name": "stalls", "type": "integer"},
    ],
)
PITCH_ROWS = [
    {"pitch": "P-01", "district": "RV01", "goods": "fruit", "stalls": 4},
    {"pitch": "P-02", "district": "RV01", "goods": "snacks", "stalls": 6},
    {"pitch": "P-03", "district": "RV02", "goods": "flowers", "stalls": 2},
]
OPEN_TOILETS = spec(
    "test-open-toilets",
    owner_department="sanitation",
    fields=[{"name": "code", "type": "string"}, {"name": "seats", "type": "integer"}],
)


def declared() -> list[producers.DatasetSpec]:
    return [ALLOWANCES, PITCHES, OPEN_TOILETS]
