"""Clients' regular expressions (``idPattern``, ``~=`` in ``q``, subscription patterns), compiled
with guards and matched under a time limit: a request's shared budget, or a limit per match for
patterns kept across events."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import regex

from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.texts import text

log = logging.getLogger(__name__)

MAX_PATTERN_LENGTH = 256
# Back-references (numbered or named) make matching NP-hard; they are refused outright.
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\\g<|\\k<")
# Seconds all of one request's client patterns may spend matching, summed over every row.
REQUEST_MATCH_SECONDS = 0.25
# Seconds one subscription pattern may spend on one entity id or value.
CALL_MATCH_SECONDS = 0.05


class RequestBudget:
    """One request's matching time, shared by all its client patterns across all rows; once
    spent, the request is a 400 naming the pattern (the regex package times out and releases
    the GIL while it matches, so one costly pattern cannot freeze the process)."""

    def __init__(self, seconds: float = REQUEST_MATCH_SECONDS) -> None:
        self.remaining = seconds

    def search(self, pattern: ClientPattern, subject: str) -> Any:
        started = time.monotonic()
        try:
            if self.remaining <= 0:
                raise TimeoutError
            return pattern.compiled.search(subject, timeout=self.remaining)
        except TimeoutError:
            self.remaining = 0.0
            raise bad_data(
                text(
                    "pattern_too_expensive",
                    what=pattern.what,
                    pattern=repr(pattern.pattern[:100]),
                )
            ) from None
        finally:
            self.remaining -= time.monotonic() - started


class PatternTimedOut(Exception):
    """A pattern under a CallLimit ran out of time: whatever asked gets no answer, rather than
    a guess (a "no match" would turn a negated clause such as !~= into a match)."""


class CallLimit:
    """A time limit per match, for patterns kept across events (subscriptions): a pattern that
    runs out of time raises PatternTimedOut, which the caller treats as "do not notify", and
    says so in the log."""

    def __init__(self, seconds: float = CALL_MATCH_SECONDS) -> None:
        self.seconds = seconds

    def search(self, pattern: ClientPattern, subject: str) -> Any:
        try:
            return pattern.compiled.search(subject, timeout=self.seconds)
        except TimeoutError:
            log.warning(
                "%s %r timed out on %r; nothing is notified for it",
                pattern.what,
                pattern.pattern[:100],
                subject[:100],
            )
            raise PatternTimedOut(pattern.pattern) from None


class ClientPattern:
    """A client's regular expression, matched under a time limit."""

    def __init__(self, pattern: str, what: str, limit: RequestBudget | CallLimit) -> None:
        self.pattern = pattern
        self.what = what
        self.limit = limit
        try:
            self.compiled = regex.compile(pattern)
        except (regex.error, OverflowError, RecursionError) as exc:
            raise bad_data(text("pattern_invalid", what=what, reason=exc)) from exc

    def search(self, subject: str) -> Any:
        return self.limit.search(self, subject)


def safe_regex(
    pattern: str, what: str = "pattern", limit: RequestBudget | CallLimit | None = None
) -> ClientPattern:
    """Compile a client's regular expression for matching under ``limit``."""
    # By default ``limit`` is a budget of its own, as for one request.
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise bad_data(text("pattern_too_long", what=what, limit=MAX_PATTERN_LENGTH))
    if _BACKREFERENCE.search(pattern):
        raise bad_data(text("pattern_backreference", what=what))
    return ClientPattern(pattern, what, limit if limit is not None else RequestBudget())
