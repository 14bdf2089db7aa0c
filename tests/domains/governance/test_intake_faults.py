"""Intake under faults: a server killed mid-burst, a database that goes away and comes back.
Nothing acknowledged is lost, and while the database is away the answer is a 503 that says
when to try again, never a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import select

from cityloop.base.db import Database
from cityloop.domains.governance.models import Report
from tests.support.city import fresh_point
from tests.support.databases import PG_URL, seeded_database
from tests.support.servers import Server
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_until


def stored_report_ids(url: str) -> set[int]:
    db = Database(url)
    try:
        with db.read() as session:
            return set(session.scalars(select(Report.id)))
    finally:
        db.dispose()


@contextmanager
def reporting(base: str, clients: int) -> Iterator[list[httpx.Response]]:
    """``clients`` threads reporting one after another until the block ends; their answers."""
    stop = threading.Event()
    answers: list[httpx.Response] = []
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(keep_reporting, base, stop, answers)
        try:
            yield answers
        finally:
            stop.set()


def keep_reporting(base: str, stop: threading.Event, answers: list[httpx.Response]) -> None:
    """Send reports of one place one after another until ``stop`` (the first opens a case, the
    others join it); keep every answer received."""
    lat, lon = fresh_point()  # one each: a burst must not use up the session's fresh points
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            try:
                answer = client.post(
                    "/api/v1/reports",
                    json={"category": "C-02-01", "lat": lat, "lon": lon, "description": "hole"},
                )
            except httpx.TransportError:  # the server is gone: no answer, nothing acknowledged
                return
            answers.append(answer)


def test_a_server_killed_mid_burst_keeps_every_report_it_acknowledged(
    templates: dict[str, str], tmp_path: Path
) -> None:
    with seeded_database(templates, "sqlite", tmp_path) as url:
        server = Server(
            "serve", tmp_path, {"CITYLOOP_DATABASE_URL": url, "CITYLOOP_INTAKE_RATE_LIMIT": "0"}
        )
        base = server.start()
        try:
            with reporting(base, clients=8) as answers:
                wait_until(lambda: len(answers) >= 40, "a burst of reports under way")
                server.kill()  # SIGKILL, in the middle of the burst
        finally:
            server.kill()
        acknowledged = {a.json()["report_id"] for a in answers if a.status_code == 201}
        assert len(acknowledged) >= 40
        assert {a.status_code for a in answers} == {201}
        assert acknowledged <= stored_report_ids(url)


@pytest.fixture
def database_behind_a_proxy(
    templates: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, TcpProxy]]:
    if PG_URL is None:
        pytest.skip("CITYLOOP_TEST_DATABASE_URL names no PostgreSQL server")
    with seeded_database(templates, "postgresql", tmp_path) as url:
        parts = urlsplit(url)
        proxy = TcpProxy(parts.port or 5432)
        host = (
            f"{parts.username}@127.0.0.1:{proxy.port}"
            if parts.username
            else f"127.0.0.1:{proxy.port}"
        )
        try:
            yield urlunsplit(parts._replace(netloc=host)), proxy
        finally:
            proxy.close()


def test_while_postgresql_is_away_intake_answers_503_with_retry_after_and_loses_nothing(
    database_behind_a_proxy: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    url, proxy = database_behind_a_proxy
    server = Server(
        "serve", tmp_path, {"CITYLOOP_DATABASE_URL": url, "CITYLOOP_INTAKE_RATE_LIMIT": "0"}
    )
    base = server.start()
    try:
        with reporting(base, clients=4) as answers:
            wait_until(lambda: len(answers) >= 10, "reports accepted before the outage")
            proxy.down()  # as PostgreSQL restarting: connections cut, new ones refused
            wait_until(lambda: any(a.status_code == 503 for a in answers), "a 503 while away")
            time.sleep(1)
            proxy.up()
            during = len(answers)
            wait_until(lambda: any(a.status_code == 201 for a in answers[during:]), "intake back")
    finally:
        server.kill()
    refused = [a for a in answers if a.status_code == 503]
    assert {a.status_code for a in answers} == {201, 503}  # never a 500
    assert all(a.headers["Retry-After"] == "5" for a in refused)
    assert refused[0].json()["type"].endswith("database-unavailable")
    acknowledged = {a.json()["report_id"] for a in answers if a.status_code == 201}
    direct = urlunsplit(urlsplit(url)._replace(netloc=f"postgres@127.0.0.1:{proxy.target}"))
    assert acknowledged <= stored_report_ids(direct)
