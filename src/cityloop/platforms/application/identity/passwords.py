"""Password hashing with argon2, with a process-wide bound on how many run at once.

Each argon2 hash or verification allocates 64 MiB for its duration. Unbounded, sixteen parallel
sign-ins with wrong passwords cost about a gigabyte; here the rest wait for a slot (blocking
their worker thread, never the event loop) and allocate nothing while they wait.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEFAULT_CONCURRENCY = 2

# Module attributes so a test can wrap the hasher and count what runs (and how much at once).
_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(DEFAULT_CONCURRENCY)
_dummy_lock = threading.Lock()
_dummy_hash: str | None = None


def set_concurrency(limit: int) -> None:
    """Allow at most ``limit`` argon2 computations at once in this process."""
    global _slots
    if limit < 1:
        raise ValueError("the password hashing bound must be at least 1")
    # Work already holding a slot of the old semaphore gives it back there; new work uses this.
    _slots = threading.BoundedSemaphore(limit)


@contextmanager
def _slot() -> Iterator[None]:
    slots = _slots
    with slots:
        yield


def hash_password(password: str) -> str:
    """The argon2 hash of a password, computed within the process-wide bound."""
    with _slot():
        return _hasher.hash(password)


def _dummy() -> str:
    # Computed once, on first use, so that importing this module costs nothing.
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(32))
        return _dummy_hash


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash (with no hash, against a dummy one)."""
    # With no hash (an unknown account) the password is checked against a dummy hash, so that
    # answer costs the same and tells nothing about which accounts exist.
    stored = password_hash if password_hash is not None else _dummy()
    with _slot():
        try:
            matched = _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return bool(matched) and password_hash is not None
