"""The scope query language (``scopeQ``, ETSI GS CIM 009 4.19): scopes such as
``/Madrid/Gardens`` combined with ``;`` (and), ``,`` or ``|`` (or) and parentheses. A level
``+`` stands for exactly one level, a final ``#`` for any number of levels (none included), so
``/#`` selects every entity that has a scope."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cityloop.platforms.data.perception.ngsild.errors import bad_data

MAX_SCOPEQ_LENGTH = 2000
MAX_DEPTH = 10
_LEVEL = re.compile(r"[^/;,|()#+\s<>\"'=]+|[#+]")


@dataclass(frozen=True)
class ScopeAll:
    terms: tuple[ScopeNode, ...]


@dataclass(frozen=True)
class ScopeAny:
    terms: tuple[ScopeNode, ...]


ScopeNode = tuple[str, ...] | ScopeAll | ScopeAny  # a scope is its tuple of levels


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, message: str) -> Exception:
        return bad_data(f"scopeQ: {message} at position {self.pos}")

    def parse(self) -> ScopeNode:
        node = self.alternatives()
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.text[self.pos]!r}")
        return node

    def alternatives(self) -> ScopeNode:
        terms = [self.conjunction()]
        while self.text[self.pos : self.pos + 1] in (",", "|"):
            self.pos += 1
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else ScopeAny(tuple(terms))

    def conjunction(self) -> ScopeNode:
        terms = [self.term()]
        while self.text.startswith(";", self.pos):
            self.pos += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else ScopeAll(tuple(terms))

    def term(self) -> ScopeNode:
        if self.text.startswith("(", self.pos):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail("too deeply nested")
            self.pos += 1
            node = self.alternatives()
            if not self.text.startswith(")", self.pos):
                raise self.fail("missing ')'")
            self.pos += 1
            self.depth -= 1
            return node
        levels: list[str] = []
        while self.text.startswith("/", self.pos):
            self.pos += 1
            match = _LEVEL.match(self.text, self.pos)
            if not match:
                raise self.fail("expected a scope level")
            if levels and levels[-1] == "#":
                raise self.fail("'#' may only end a scope")
            levels.append(match.group(0))
            self.pos = match.end()
        if not levels:
            raise self.fail("expected a scope starting with '/'")
        return tuple(levels)


def parse_scope_q(text: str) -> ScopeNode:
    """Parse a scopeQ; a malformed one is a 400 BadRequestData naming the position."""
    if not text.strip():
        raise bad_data("scopeQ is empty")
    if len(text) > MAX_SCOPEQ_LENGTH:
        raise bad_data(f"scopeQ is longer than {MAX_SCOPEQ_LENGTH} characters")
    return _Parser(text).parse()


def _levels_match(pattern: tuple[str, ...], levels: list[str]) -> bool:
    if not pattern:
        return not levels
    if pattern[0] == "#":
        return True
    if not levels or pattern[0] not in ("+", levels[0]):
        return False
    return _levels_match(pattern[1:], levels[1:])


def evaluate_scope_q(node: ScopeNode, scopes: list[str] | None) -> bool:
    """Whether an entity with these scopes satisfies ``node``."""
    if isinstance(node, ScopeAll):
        return all(evaluate_scope_q(term, scopes) for term in node.terms)
    if isinstance(node, ScopeAny):
        return any(evaluate_scope_q(term, scopes) for term in node.terms)
    return any(_levels_match(node, scope.strip("/").split("/")) for scope in scopes or [])
