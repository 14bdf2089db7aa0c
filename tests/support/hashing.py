"""argon2 at its smallest cost for the demo accounts the tests seed.

Seeding hashes 42 demo passwords, at about 0.2 CPU-seconds each with the production parameters
(64 MiB, three passes), and every template, `cityloop seed` and sign-in paid for it. A hash
carries its own parameters, so the app verifies these cheap ones with its usual hasher: only
seeding is patched, never the hasher sign-in and password changes use. Tests of argon2's cost or
its bound give their account a full-cost hash again.

Run as a module, it is `cityloop` with cheap hashes:
``python -m tests.support.hashing seed --accounts ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher

from cityloop.platforms.application.identity import passwords

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@contextmanager
def cheap_password_hashes() -> Iterator[None]:
    """Hash passwords at argon2's smallest cost within the block (this process only)."""
    real = passwords._hasher
    passwords._hasher = CHEAP
    try:
        yield
    finally:
        passwords._hasher = real


if __name__ == "__main__":
    from cityloop.cli import app

    passwords._hasher = CHEAP
    app(prog_name="cityloop")
