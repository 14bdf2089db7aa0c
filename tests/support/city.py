"""A running demo city for tests: the app on a seeded database of its own, an HTTP client, its
context, and helpers that sign in, report, act and upload as people do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cityloop.app import build_context, create_app
from cityloop.base.context import AppContext
from cityloop.settings import Settings
from tests.support.databases import seeded_database
from tests.support.media import jpeg_bytes


@dataclass
class City:
    """A running demo city for one test module: HTTP client, context and helpers."""

    client: TestClient
    ctx: AppContext
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            response = self.client.post(
                "/api/v1/auth/token", data={"username": username, "password": "demo"}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def upload(self, image: bytes | None = None, username: str | None = None) -> str:
        headers = self.headers(username) if username else {}
        response = self.client.post(
            "/api/v1/media",
            files={"file": ("photo.jpg", image or jpeg_bytes(), "image/jpeg")},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def report(self, username: str | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("description", "test report")
        headers = self.headers(username) if username else {}
        response = self.client.post("/api/v1/reports", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def act(self, case_id: int, username: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/cases/{case_id}/actions", json=body, headers=self.headers(username)
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    def case(self, case_id: int, username: str = "admin") -> dict[str, Any]:
        response = self.client.get(f"/api/v1/cases/{case_id}", headers=self.headers(username))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def drain(self) -> None:
        """Deliver pending outbox events now (the background relay is off in tests)."""
        while self.ctx.relay.drain():
            pass


def make_city(
    templates: dict[str, str], backend: str, tmp_path: Path, **overrides: Any
) -> Iterator[City]:
    """A city on a seeded database of its own under ``tmp_path``; ``overrides`` are settings
    beyond the tests' defaults. A generator: ``yield from`` it in a fixture."""
    with seeded_database(templates, backend, tmp_path) as url:
        options: dict[str, Any] = {
            "data_dir": tmp_path,
            "database_url": url,
            "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
            "run_background": False,
            "intake_rate_limit": 0,
            # The tests' own receivers and @context servers listen on 127.0.0.1, which the
            # outbound address policy refuses unless a deployment (here, the tests) admits it.
            "outbound_allow": "127.0.0.1",
            **overrides,
        }
        settings = Settings(**options)
        ctx = build_context(settings)
        app = create_app(settings, ctx)
        try:
            with TestClient(app) as client:
                yield City(client, ctx, backend)
        finally:
            ctx.db.dispose()


def _point_counter() -> Iterator[tuple[float, float]]:
    """Distinct points inside the demo city, far enough apart that dedupe never joins them."""
    from shapely.geometry import Point, shape

    from cityloop.demo.city import build_demo_city

    city = build_demo_city()
    polygons = [
        shape({"type": "Polygon", "coordinates": [j.polygon]})
        for j in city.jurisdictions
        if j.level == "grid"
    ]
    step = 0.0012  # ~120 m, beyond every category's dedupe radius
    while True:
        for polygon in polygons:
            min_x, min_y, max_x, max_y = polygon.bounds
            y = min_y + step / 2
            while y < max_y:
                x = min_x + step / 2
                while x < max_x:
                    if polygon.buffer(-step / 2).contains(Point(x, y)):
                        yield (round(y, 6), round(x, 6))
                    x += step
                y += step


_points = _point_counter()
_points_lock = threading.Lock()  # tests that report from several threads take points too


def fresh_point() -> tuple[float, float]:
    """(lat, lon) never used before in this test session, on a lattice ~120 m apart.

    A test that also reports at an offset from it must keep that report more than the
    category's radius from the lattice's other points too, or a later test's fresh point joins
    its case: the middle of a cell (+0.0006, +0.0006) is ~88 m from all four corners."""
    with _points_lock:
        return next(_points)
