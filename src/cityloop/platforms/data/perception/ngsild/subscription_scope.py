"""The scope query language of a subscription's ``scopeQ`` (clause 4.19): scope paths such as
``/Madrid/Gardens``, with ``+`` for one level, ``#`` for any depth below, ``;`` for and, and
``,`` or ``|`` for or."""

from __future__ import annotations

import re
from typing import Any

from cityloop.platforms.data.perception.ngsild.errors import bad_data

MAX_SCOPE_Q = 1000
_LEVEL = re.compile(r"^[^\s/;,|#+()]+$")

ScopeQuery = list[list[list[str]]]  # or of ands of paths (a path: its levels)


def parse_scope_q(text: Any) -> ScopeQuery:
    """The query as alternatives of conjunctions of paths; 400 naming scopeQ when malformed."""
    if not isinstance(text, str) or not text or len(text) > MAX_SCOPE_Q:
        raise bad_data(f"scopeQ must be a non-empty string of at most {MAX_SCOPE_Q} characters")
    alternatives: ScopeQuery = []
    for alternative in re.split(r"[,|]", text):
        paths = []
        for path in alternative.split(";"):
            path = path.strip().strip("()")
            if not path.startswith("/"):
                raise bad_data(f"scopeQ path {path[:60]!r} must start with /")
            levels = path[1:].split("/")
            for i, level in enumerate(levels):
                last = i == len(levels) - 1
                if not (_LEVEL.match(level) or level == "+" or (level == "#" and last)):
                    raise bad_data(f"scopeQ path {path[:60]!r} is not a scope path")
            paths.append(levels)
        alternatives.append(paths)
    return alternatives


def _path_matches(pattern: list[str], scope: str) -> bool:
    levels = scope[1:].split("/") if scope.startswith("/") else []
    for i, want in enumerate(pattern):
        if want == "#":
            return True
        if i >= len(levels) or (want != "+" and want != levels[i]):
            return False
    return len(levels) == len(pattern)


def scope_matches(query: ScopeQuery, scopes: list[str] | None) -> bool:
    """Whether an entity with these scopes matches the query."""
    found = scopes or []
    return any(
        all(any(_path_matches(path, scope) for scope in found) for path in paths) for paths in query
    )
