"""The part of Solr's query language CKAN clients send to ``package_search`` in ``q`` and ``fq``:
words and "phrases", ``field:value`` terms (``tags:roads``, ``organization:"water"``), value
groups (``res_format:(CSV OR JSON)``), ranges (``metadata_modified:[2024-01-01T00:00:00Z TO *]``),
``*`` wildcards, ``+``/``-``/``NOT`` and ``AND``/``OR`` with parentheses. Terms side by side
must all match (CKAN runs Solr with ``q.op=AND``).

This module only parses; ``index.py`` decides what each term matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 2000
MAX_DEPTH = 20
_FIELD = re.compile(r"([A-Za-z_][\w.]*|\*):")
_STOP = set(' \t\r\n()"[]{}')


class QuerySyntaxError(ValueError):
    """The query cannot be parsed (Solr answers these as a search error)."""


@dataclass(frozen=True)
class Everything:
    """``*:*``: every dataset."""


@dataclass(frozen=True)
class Term:
    """A word or phrase, in one field or (field None) in the dataset's text."""

    field: str | None
    value: str
    phrase: bool = False


@dataclass(frozen=True)
class Range:
    """``field:[low TO high]`` (``{...}`` excludes the ends); ``*`` leaves an end open."""

    field: str
    low: str
    high: str
    inclusive: bool


@dataclass(frozen=True)
class AllOf:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The part does not match."""

    part: Node


Node = Everything | Term | Range | AllOf | AnyOf | Not


def parse(text: str) -> Node:
    """The query's tree; empty text (and ``*:*``) is everything."""
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"the query is longer than {MAX_LENGTH} characters")
    parser = _Parser(text)
    node = parser.either(None, 0)
    parser.skip_space()
    if parser.position < len(text):
        raise QuerySyntaxError(f"Cannot parse '{text}': unexpected '{text[parser.position]}'")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def peek_word(self) -> str:
        self.skip_space()
        end = self.position
        while end < len(self.text) and self.text[end] not in _STOP:
            end += 1
        return self.text[self.position : end]

    def at_end(self) -> bool:
        self.skip_space()
        return self.position >= len(self.text) or self.text[self.position] == ")"

    def either(self, field: str | None, depth: int) -> Node:
        """Parts joined by OR (or ||); AND binds closer."""
        if depth > MAX_DEPTH:
            raise QuerySyntaxError("the query nests too deeply")
        parts = [self.both(field, depth)]
        while self.peek_word() in ("OR", "||"):
            self.position += len(self.peek_word())
            parts.append(self.both(field, depth))
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def both(self, field: str | None, depth: int) -> Node:
        """Parts side by side, or joined by AND (or &&): all must match."""
        parts: list[Node] = []
        while not self.at_end():
            word = self.peek_word()
            if word in ("OR", "||"):
                break
            if word in ("AND", "&&"):
                self.position += len(word)
                continue
            parts.append(self.unary(field, depth))
        if not parts:
            return Everything() if field is None else Term(field, "*")
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def unary(self, field: str | None, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise QuerySyntaxError("the query nests too deeply")
        if self.peek_word() == "NOT":
            self.position += 3
            if self.at_end():
                raise QuerySyntaxError(f"Cannot parse '{self.text}': NOT needs a term")
            return Not(self.unary(field, depth + 1))
        sign = self.text[self.position]
        if sign in "+-!" and self.position + 1 < len(self.text):
            self.position += 1
            part = self.primary(field, depth)
            return Not(part) if sign in "-!" else part
        return self.primary(field, depth)

    def primary(self, field: str | None, depth: int) -> Node:
        self.skip_space()
        named = _FIELD.match(self.text, self.position)
        if named:
            field = named.group(1)
            self.position = named.end()
            if field == "*":
                value = self.peek_word()
                if value != "*":
                    raise QuerySyntaxError(f"Cannot parse '{self.text}': '*:' needs '*'")
                self.position += 1
                return Everything()
        if self.position >= len(self.text):
            raise QuerySyntaxError(f"Cannot parse '{self.text}': a value is missing")
        first = self.text[self.position]
        if first == "(":
            self.position += 1
            node = self.either(field, depth + 1)
            self.expect(")")
            return node
        if first == '"':
            end = self.text.find('"', self.position + 1)
            if end < 0:
                raise QuerySyntaxError(f"Cannot parse '{self.text}': a quote is not closed")
            value = self.text[self.position + 1 : end]
            self.position = end + 1
            return Term(field, value, phrase=True)
        if first in "[{":
            return self.range(field, first == "[")
        word = self.peek_word()
        if not word:
            raise QuerySyntaxError(f"Cannot parse '{self.text}': unexpected '{first}'")
        self.position += len(word)
        return Term(field, word.replace("\\", ""))

    def range(self, field: str | None, inclusive: bool) -> Range:
        close = "]" if inclusive else "}"
        end = self.text.find(close, self.position)
        if field is None or end < 0:
            raise QuerySyntaxError(f"Cannot parse '{self.text}': a range needs a field and an end")
        inside = self.text[self.position + 1 : end].split()
        self.position = end + 1
        if len(inside) != 3 or inside[1] != "TO":
            raise QuerySyntaxError(f"Cannot parse '{self.text}': a range is [low TO high]")
        return Range(field, inside[0], inside[2], inclusive)

    def expect(self, character: str) -> None:
        self.skip_space()
        if self.position >= len(self.text) or self.text[self.position] != character:
            raise QuerySyntaxError(f"Cannot parse '{self.text}': '{character}' expected")
        self.position += 1
