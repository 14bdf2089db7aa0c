"""Waiting on a condition with a deadline, never with a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# Guards against a hung test; never a performance threshold.
HANG_GUARD_SECONDS = 30.0


def wait_until(check: Callable[[], Any], what: str, timeout: float = HANG_GUARD_SECONDS) -> Any:
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
