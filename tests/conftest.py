"""Shared fixtures: the demo city is built once per database engine, then copied per module.

SQLite always runs. PostgreSQL runs too when CITYLOOP_TEST_DATABASE_URL points at a server
(a maintenance database such as postgresql://postgres@127.0.0.1:5432/postgres); each module then
gets its own database cloned from a migrated, seeded template.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from cityloop.app import build_context, create_app
from cityloop.base.context import AppContext
from cityloop.base.db import Database
from cityloop.demo import seed
from cityloop.migrate import upgrade
from cityloop.settings import Settings

PG_URL = os.environ.get("CITYLOOP_TEST_DATABASE_URL")
REQUIRE_SERVICES = os.environ.get("CITYLOOP_REQUIRE_SERVICES") == "1"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test is a failed test: the services it needs must be there."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped with CITYLOOP_REQUIRE_SERVICES=1: {report.longrepr}"


def _pg_admin_url(database: str) -> str:
    assert PG_URL
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{database}"


def _pg_execute(sql: str) -> None:
    import psycopg

    assert PG_URL
    with psycopg.connect(
        PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as conn:
        conn.execute(sql)


def _build(url: str) -> None:
    db = Database(url)
    upgrade(db)
    with db.writing() as session:
        seed.seed_city(session)
        seed.seed_accounts(session)
    db.dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    built: dict[str, str] = {}
    sqlite_path = tmp_path_factory.mktemp("template") / "city.db"
    _build(f"sqlite:///{sqlite_path}")
    built["sqlite"] = str(sqlite_path)
    pg_template = None
    if PG_URL:
        pg_template = f"cityloop_tpl_{uuid.uuid4().hex[:8]}"
        _pg_execute(f"CREATE DATABASE {pg_template}")
        _build(_pg_admin_url(pg_template))
        built["postgresql"] = pg_template
    yield built
    if pg_template:
        _pg_execute(f"DROP DATABASE IF EXISTS {pg_template} WITH (FORCE)")


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


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy and return that; fail naming ``what``
    after ``timeout`` seconds (a hang guard, not a timing threshold)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


def a_writer_is_waiting(db: Database) -> bool:
    """Whether a transaction on ``db`` is waiting for a lock another one holds: on PostgreSQL a
    backend of this database waiting on a lock; on SQLite a thread of this process waiting for
    the single writer (its innermost frame is ``Database.writing``, at the lock)."""
    if db.is_sqlite:
        import sys

        code = Database.writing.__wrapped__.__code__  # type: ignore[attr-defined]
        return any(frame.f_code is code for frame in sys._current_frames().values())
    from sqlalchemy import text

    with db.read() as session:
        waiting = session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


def use_ngsild_key(city: City) -> None:
    """Send the seeded demo API key with every request of this city's client, as NGSI-LD
    writes need credentials."""
    from cityloop.demo.seed import DEMO_API_KEY

    city.client.headers["X-Api-Key"] = DEMO_API_KEY


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def flat_png(width: int, height: int) -> bytes:
    """A complete, valid RGB PNG of one colour, built row by row so that the test never holds
    its pixels: 6300x6300 compresses to about 116 KB, yet decodes to 160 MB."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    compressor = zlib.compressobj()
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


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


def fresh_point() -> tuple[float, float]:
    """(lat, lon) never used before in this test session."""
    return next(_points)


@contextmanager
def seeded_database(templates: dict[str, str], backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated and seeded with the demo city and accounts; yields its
    URL (a copied SQLite file under ``tmp_path``, or a PostgreSQL database cloned from the
    template and dropped afterwards). Server processes take it as CITYLOOP_DATABASE_URL."""
    if backend == "sqlite":
        path = tmp_path / "city.db"
        shutil.copy(templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    name = f"cityloop_t_{uuid.uuid4().hex[:10]}"
    _pg_execute(f"CREATE DATABASE {name} TEMPLATE {templates['postgresql']}")
    try:
        yield _pg_admin_url(name)
    finally:
        _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def writes_blocked(url: str, table: str) -> Iterator[None]:
    """Hold writes off from another connection until the block exits: on SQLite the whole
    database (its single writer lock, taken with BEGIN IMMEDIATE), on PostgreSQL ``table``
    (an EXCLUSIVE table lock: reads go on, a writer waits at its first write to the table)."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def make_city(
    templates: dict[str, str], backend: str, tmp_path: Path, **overrides: Any
) -> Iterator[City]:
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


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest,
    templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[City]:
    yield from make_city(templates, request.param, tmp_path_factory.mktemp("city"))
