"""Sign-in is throttled per account name and per client address, argon2 work is bounded, and
every failed or refused attempt is in the audit trail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityloop.app import create_app
from cityloop.base.db import utcnow
from cityloop.platforms.application.identity import passwords, throttle
from cityloop.platforms.application.identity.models import LoginThrottle, User
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS

LIMIT = 3
ADDRESS_LIMIT = 6
POLICY = {
    "login_max_failures": LIMIT,
    "login_max_failures_per_address": ADDRESS_LIMIT,
    "login_lockout_seconds": 60,
}


class CountingHasher:
    """Wraps the real argon2 hasher: counts verifications and the most running at once."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verifications = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def _enter(self, verifying: bool) -> None:
        with self._lock:
            self.verifications += verifying
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def _leave(self) -> None:
        with self._lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._enter(False)
        try:
            return str(self.real.hash(password))
        finally:
            self._leave()

    def verify(self, password_hash: str, password: str) -> bool:
        self._enter(True)
        try:
            return bool(self.real.verify(password_hash, password))
        finally:
            self._leave()


@pytest.fixture
def argon2(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


@pytest.fixture(params=BACKENDS)
def city(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[City]:
    # A fresh database per test: the throttle's counts must not leak from one test to the next.
    yield from make_city(templates, request.param, tmp_path, **POLICY)


def sign_in(
    client: TestClient | httpx.Client, username: str, password: str = "wrong-password"
) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def from_address(city: City, address: str) -> TestClient:
    """A client of the same server that connects from another address."""
    return TestClient(city.client.app, client=(address, 40000))


def audit(city: City, target: str) -> list[dict[str, Any]]:
    response = city.client.get(
        "/api/v1/audit", params={"target": target}, headers=city.headers("admin")
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def test_failed_sign_ins_on_one_account_end_in_a_429_with_retry_after(city: City) -> None:
    client = from_address(city, "198.51.100.1")
    for _ in range(LIMIT):
        assert sign_in(client, "dispatcher").status_code == 401
    refused = sign_in(client, "dispatcher")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/login-throttled")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # The lock is on the account name, whichever address the next guess comes from.
    assert sign_in(from_address(city, "198.51.100.2"), "dispatcher").status_code == 429
    # Other accounts are not affected.
    assert sign_in(client, "supervisor", "demo").status_code == 200


def test_a_throttled_attempt_runs_no_argon2_even_with_the_right_password(
    city: City, argon2: CountingHasher
) -> None:
    client = from_address(city, "198.51.100.3")
    for _ in range(LIMIT):
        sign_in(client, "supervisor")
    checked = argon2.verifications
    assert checked == LIMIT
    assert sign_in(client, "supervisor", "demo").status_code == 429
    assert sign_in(client, "supervisor").status_code == 429
    assert argon2.verifications == checked


def test_a_successful_sign_in_starts_the_accounts_count_again(city: City) -> None:
    client = from_address(city, "198.51.100.4")
    for _ in range(LIMIT - 1):
        assert sign_in(client, "handler-water").status_code == 401
    assert sign_in(client, "handler-water", "demo").status_code == 200
    # It takes a full count of new failures to lock the account again.
    for _ in range(LIMIT):
        assert sign_in(client, "handler-water").status_code == 401
    assert sign_in(client, "handler-water", "demo").status_code == 429


def test_failures_from_one_address_lock_that_address_for_every_account(city: City) -> None:
    client = from_address(city, "203.0.113.9")
    for n in range(ADDRESS_LIMIT):
        # One guess per name: no account reaches its own limit.
        assert sign_in(client, f"someone-{n}").status_code == 401
    assert sign_in(client, "dispatcher", "demo").status_code == 429
    assert sign_in(from_address(city, "203.0.113.10"), "dispatcher", "demo").status_code == 200


def test_unknown_names_are_throttled_and_answered_like_real_accounts(
    city: City, argon2: CountingHasher
) -> None:
    real = [sign_in(from_address(city, "198.51.100.5"), "dispatcher") for _ in range(LIMIT + 1)]
    checked = argon2.verifications
    made_up = [sign_in(from_address(city, "198.51.100.15"), "no-such-person") for _ in range(4)]
    # The same statuses and bodies, and the same argon2 work, whether the account exists or not.
    assert [r.status_code for r in made_up] == [r.status_code for r in real]
    assert [r.status_code for r in real] == [401] * LIMIT + [429]
    assert made_up[0].json() == real[0].json()
    assert made_up[-1].json()["type"] == real[-1].json()["type"]
    assert argon2.verifications - checked == checked == LIMIT


def test_each_failed_and_throttled_attempt_is_audited_without_the_password(city: City) -> None:
    client = from_address(city, "198.51.100.6")
    for _ in range(LIMIT + 2):
        sign_in(client, "hotline", "Sup3r-secret-guess")
    trail = audit(city, "user:hotline")
    failed = [entry for entry in trail if entry["action"] == "auth.failed"]
    refused = [entry for entry in trail if entry["action"] == "auth.throttled"]
    assert len(failed) == LIMIT and len(refused) == 2
    assert all(entry["detail"]["client"] == "198.51.100.6" for entry in failed + refused)
    assert all(entry["detail"]["retry_after"] > 0 for entry in refused)
    assert "Sup3r-secret-guess" not in str(trail)
    # Unknown names are audited the same way, under the name that was tried.
    sign_in(client, "nobody-here")
    [entry] = audit(city, "user:nobody-here")
    assert entry["action"] == "auth.failed" and entry["detail"]["reason"] == "unknown-account"


def test_parallel_guesses_on_one_account_get_no_more_than_the_limit_checked(
    city: City, argon2: CountingHasher
) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda n: sign_in(from_address(city, f"192.0.2.{n}"), "inspector").status_code,
                range(12),
            )
        )
    assert sorted(statuses) == [401] * LIMIT + [429] * (12 - LIMIT)
    assert argon2.verifications == LIMIT


def test_workers_sharing_a_database_share_the_throttle(city: City) -> None:
    # A second app on the same database stands in for another worker process.
    other_worker = TestClient(create_app(city.ctx.settings), client=("198.51.100.7", 40000))
    client = from_address(city, "198.51.100.7")
    for _ in range(LIMIT):
        assert sign_in(client, "dispatcher").status_code == 401
    assert sign_in(other_worker, "dispatcher", "demo").status_code == 429
    other_worker.app.state.ctx.db.dispose()


@pytest.fixture
def generous_city(templates: dict[str, str], tmp_path: Path) -> Iterator[City]:
    """A city whose throttle lets many guesses through, and whose argon2 bound is two."""
    for city in make_city(
        templates,
        "sqlite",
        tmp_path,
        password_hash_concurrency=2,
        login_max_failures=100,
        login_max_failures_per_address=100,
    ):
        # The seeded accounts' hashes are cheap (tests/support/hashing.py); the bound is shown
        # on admin's full-cost one, whose verifications last long enough to overlap.
        with city.ctx.writing() as session:
            admin = session.scalars(select(User).where(User.username == "admin")).one()
            admin.password_hash = passwords.hash_password("demo")
        yield city


def test_sixteen_parallel_wrong_passwords_run_at_most_two_argon2_at_once(
    generous_city: City, argon2: CountingHasher
) -> None:
    with ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda _: sign_in(generous_city.client, "admin").status_code, range(16))
        )
    assert statuses == [401] * 16
    assert argon2.verifications == 16
    assert argon2.most_at_once <= 2


def test_sign_ins_waiting_for_argon2_hold_up_no_other_request(generous_city: City) -> None:
    slots = passwords._slots
    for _ in range(2):  # both argon2 slots busy
        slots.acquire()
    pool = ThreadPoolExecutor(2)
    try:
        waiting = pool.submit(sign_in, generous_city.client, "admin", "demo")
        # The waiting sign-in holds a worker thread, not the event loop: other requests go on.
        assert pool.submit(generous_city.client.get, "/healthz").result(10).status_code == 200
        assert not waiting.done()
    finally:
        slots.release()
        slots.release()
        pool.shutdown(wait=True)
    assert waiting.result().status_code == 200


def test_a_lock_doubles_with_each_further_failure_and_is_forgotten_after_a_quiet_window(
    city: City,
) -> None:
    policy = throttle.LoginPolicy(
        max_failures=2, max_failures_per_address=100, lockout_seconds=10, window_seconds=600
    )
    start = utcnow()

    def attempt(after: float) -> int | None:
        with city.ctx.writing() as session:
            return throttle.reserve_attempt(
                session,
                policy=policy,
                account="worker-roads",
                client="192.0.2.50",
                now=start + timedelta(seconds=after),
            )

    assert attempt(0) is None
    assert attempt(1) is None  # the second failure locks for 10 s
    assert attempt(2) == 9
    assert attempt(11) is None  # one more guess after the lock: locked for 20 s
    assert attempt(12) == 19
    assert attempt(31) is None  # and then 40 s
    assert attempt(70) == 1
    # Quiet for longer than the window after the last lock ended: the count starts again.
    assert attempt(71 + 601) is None
    assert attempt(71 + 602) is None
    assert attempt(71 + 603) == 9


def test_pruning_forgets_quiet_subjects_and_keeps_locked_ones(city: City) -> None:
    policy = throttle.LoginPolicy(max_failures=1, lockout_seconds=3000, window_seconds=60)
    long_ago = utcnow() - timedelta(seconds=600)
    with city.ctx.writing() as session:
        throttle.reserve_attempt(
            session, policy=policy, account="locked-name", client="192.0.2.60", now=long_ago
        )
        session.add(LoginThrottle(subject="account:quiet-name", failures=1, last_at=long_ago))
    with city.ctx.writing() as session:
        assert throttle.prune(session, policy=policy) == 2  # the quiet name and the address
    with city.ctx.reading() as session:
        kept = set(session.scalars(select(LoginThrottle.subject)))
    assert kept == {"account:locked-name"}
