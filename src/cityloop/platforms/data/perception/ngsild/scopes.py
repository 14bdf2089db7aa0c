"""The scope query language (``scopeQ``, ETSI GS CIM 009 4.19): scopes such as
``/Madrid/Gardens`` combined with ``;`` (and), ``,`` or ``|`` (or) and parentheses. A level
``+`` stands for exactly one level, a final ``#`` for any number of levels (none included), so
``/#`` selects every entity that has a scope."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.texts import text

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

    def fail(self, code: str, **params: object) -> Exception:
        return bad_data(text(f"scope_q_{code}", pos=self.pos, **params))

    def parse(self) -> ScopeNode:
        node = self.alternatives()
        if self.pos != len(self.text):
            raise self.fail("unexpected", char=self.text[self.pos])
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
                raise self.fail("too_deep")
            self.pos += 1
            node = self.alternatives()
            if not self.text.startswith(")", self.pos):
                raise self.fail("missing_paren")
            self.pos += 1
            self.depth -= 1
            return node
        levels: list[str] = []
        while self.text.startswith("/", self.pos):
            self.pos += 1
            match = _LEVEL.match(self.text, self.pos)
            if not match:
                raise self.fail("level_expected")
            if levels and levels[-1] == "#":
                raise self.fail("hash_end")
            levels.append(match.group(0))
            self.pos = match.end()
        if not levels:
            raise self.fail("slash_expected")
        return tuple(levels)


def parse_scope_q(query: str) -> ScopeNode:
    """Parse a scopeQ; a malformed one is a 400 BadRequestData naming the position."""
    if not query.strip():
        raise bad_data(text("scope_q_empty"))
    if len(query) > MAX_SCOPEQ_LENGTH:
        raise bad_data(text("scope_q_too_long", limit=MAX_SCOPEQ_LENGTH))
    return _Parser(query).parse()


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
