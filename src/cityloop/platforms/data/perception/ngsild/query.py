"""The NGSI-LD query language (the ``q`` parameter): a parser into a small tree and a pure
evaluator over an entity's expanded attributes.

Grammar (after ETSI GS CIM 009, 4.9)::

    query  := and ('|' and)*
    and    := term (';' term)*
    term   := '(' query ')' | '!' path | path [op value]
    path   := name ('.' name)* ['[' key ('.' key)* ']']
    op     := '==' | '!=' | '>' | '>=' | '<' | '<=' | '~=' | '!~='
    value  := item (',' item)* | item '..' item
    item   := '"' chars '"' | number | true | false | bare (date-time, URI)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import regex

from cityloop.platforms.data.perception.ngsild.errors import bad_data

log = logging.getLogger(__name__)

MAX_Q_LENGTH = 4000
MAX_DEPTH = 20
MAX_LIST_ITEMS = 200
MAX_PATTERN_LENGTH = 256
OPERATORS = ("!~=", "==", "!=", ">=", "<=", "~=", "=~", ">", "<")
# Members of an attribute instance that a path names directly, never expanded.
CORE_MEMBERS = frozenset(
    {"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId", "type", "instanceId"}
)
_NAME_CHARS = re.compile(r"[A-Za-z0-9_:/#@\-]+")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
# Back-references (numbered or named) make matching NP-hard; they are refused outright.
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\\g<|\\k<")
# Seconds all of one request's client patterns may spend matching, summed over every row.
REQUEST_MATCH_SECONDS = 0.25
# Seconds one subscription pattern may spend on one entity id or value.
CALL_MATCH_SECONDS = 0.05


@dataclass(frozen=True)
class Path:
    attribute: str
    members: tuple[str, ...] = ()
    json_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Range:
    low: Any
    high: Any


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str
    value: Any  # a literal, a list of literals, a Range or (for patterns) a ClientPattern


@dataclass(frozen=True)
class Exists:
    path: Path
    negated: bool = False


@dataclass(frozen=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Node, ...]


Node = Compare | Exists | And | Or


class RequestBudget:
    """One request's matching time, shared by all its client patterns across all rows; once
    spent, the request is a 400 naming the pattern (the regex package times out and releases
    the GIL while it matches, so one costly pattern cannot freeze the process)."""

    def __init__(self, seconds: float = REQUEST_MATCH_SECONDS) -> None:
        self.remaining = seconds

    def search(self, pattern: ClientPattern, text: str) -> Any:
        started = time.monotonic()
        try:
            if self.remaining <= 0:
                raise TimeoutError
            return pattern.compiled.search(text, timeout=self.remaining)
        except TimeoutError:
            self.remaining = 0.0
            raise bad_data(
                f"{pattern.what} {pattern.pattern[:100]!r} is too expensive to evaluate; "
                "simplify it"
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

    def search(self, pattern: ClientPattern, text: str) -> Any:
        try:
            return pattern.compiled.search(text, timeout=self.seconds)
        except TimeoutError:
            log.warning(
                "%s %r timed out on %r; nothing is notified for it",
                pattern.what,
                pattern.pattern[:100],
                text[:100],
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
            raise bad_data(f"{what} is not a valid regular expression: {exc}") from exc

    def search(self, text: str) -> Any:
        return self.limit.search(self, text)


def safe_regex(
    pattern: str, what: str = "pattern", limit: RequestBudget | CallLimit | None = None
) -> ClientPattern:
    """Compile a client's regular expression for matching under ``limit``."""
    # By default ``limit`` is a budget of its own, as for one request.
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise bad_data(f"{what} is longer than {MAX_PATTERN_LENGTH} characters")
    if _BACKREFERENCE.search(pattern):
        raise bad_data(f"{what} uses back-references, which are refused")
    return ClientPattern(pattern, what, limit if limit is not None else RequestBudget())


class _Parser:
    def __init__(self, text: str, limit: RequestBudget | CallLimit) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.limit = limit

    def fail(self, message: str) -> Exception:
        return bad_data(f"q: {message} at position {self.pos}")

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos : self.pos + length]

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def parse(self) -> Node:
        node = self.query()
        self.skip_spaces()
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r}")
        return node

    def query(self) -> Node:
        terms = [self.conjunction()]
        while self.peek() == "|":
            self.pos += 1
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def conjunction(self) -> Node:
        terms = [self.term()]
        while self.peek() == ";":
            self.pos += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def term(self) -> Node:
        self.skip_spaces()
        if self.peek() == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail("too deeply nested")
            self.pos += 1
            node = self.query()
            self.skip_spaces()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            self.depth -= 1
            return node
        if self.peek() == "!" and self.peek(2) not in ("!=",) and self.peek(3) != "!~=":
            self.pos += 1
            return Exists(self.path(), negated=True)
        path = self.path()
        self.skip_spaces()
        if self.pos >= len(self.text) or self.peek() in (";", "|", ")"):
            return Exists(path)
        for op in OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                op = "~=" if op == "=~" else op
                return Compare(path, op, self.value(op))
        raise self.fail("expected an operator")

    def name(self) -> str:
        match = _NAME_CHARS.match(self.text, self.pos)
        if not match:
            raise self.fail("expected an attribute name")
        self.pos = match.end()
        return match.group(0)

    def path(self) -> Path:
        self.skip_spaces()
        names = [self.name()]
        while self.peek() == "." and self.peek(2) != "..":
            self.pos += 1
            names.append(self.name())
        json_path: list[str] = []
        if self.peek() == "[":
            self.pos += 1
            end = self.text.find("]", self.pos)
            if end < 0:
                raise self.fail("missing ']'")
            inner = self.text[self.pos : end]
            if not inner or any(not part for part in inner.split(".")):
                raise self.fail("empty key in [..]")
            json_path = inner.split(".")
            self.pos = end + 1
        return Path(names[0], tuple(names[1:]), tuple(json_path))

    def value(self, op: str) -> Any:
        if self.pos >= len(self.text):
            raise self.fail("missing value")
        if op in ("~=", "!~="):
            item = self.item()
            if not isinstance(item, str):
                raise self.fail("a pattern must be a string")
            return safe_regex(item, "q pattern", self.limit)
        first = self.item()
        if self.peek(2) == "..":
            self.pos += 2
            high = self.item()
            if op not in ("==", "!="):
                raise self.fail("a range needs == or !=")
            return Range(first, high)
        if self.peek() == ",":
            items = [first]
            while self.peek() == ",":
                self.pos += 1
                items.append(self.item())
                if len(items) > MAX_LIST_ITEMS:
                    raise self.fail("too many values in a list")
            if op not in ("==", "!="):
                raise self.fail("a list of values needs == or !=")
            return tuple(items)
        return first

    def item(self) -> Any:
        if self.peek() == '"':
            self.pos += 1
            out: list[str] = []
            while self.pos < len(self.text):
                char = self.text[self.pos]
                if char == "\\" and self.pos + 1 < len(self.text):
                    out.append(self.text[self.pos + 1])
                    self.pos += 2
                    continue
                if char == '"':
                    self.pos += 1
                    return "".join(out)
                out.append(char)
                self.pos += 1
            raise self.fail("unterminated string")
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ",;|)" or self.text.startswith("..", self.pos):
                break
            self.pos += 1
        token = self.text[start : self.pos].strip()
        if not token:
            raise self.fail("missing value")
        if token in ("true", "false"):
            return token == "true"
        if _NUMBER.match(token):
            number = float(token)
            return int(number) if number.is_integer() and "." not in token else number
        if "'" in token or '"' in token:
            raise self.fail("stray quote")
        return token


def parse_q(text: str, limit: RequestBudget | CallLimit | None = None) -> Node:
    """Parse a q expression; a malformed one is a 400 BadRequestData naming the position."""
    # Its patterns match under ``limit`` (by default one budget for the whole expression).
    if not text or not text.strip():
        raise bad_data("q is empty")
    if len(text) > MAX_Q_LENGTH:
        raise bad_data(f"q is longer than {MAX_Q_LENGTH} characters")
    return _Parser(text, limit if limit is not None else RequestBudget()).parse()


def attribute_names(node: Node) -> set[str]:
    """The (unexpanded) attribute names a q expression reads."""
    if isinstance(node, And | Or):
        return set().union(*(attribute_names(term) for term in node.terms))
    return {node.path.attribute}


# --- evaluation -------------------------------------------------------------------------------

_MISSING = object()


def instance_value(instance: dict[str, Any]) -> Any:
    """The value a q clause compares for an attribute instance, whatever its kind."""
    kind = instance.get("type")
    if kind in ("Relationship",):
        return instance.get("object", _MISSING)
    if kind == "ListRelationship":
        return instance.get("objectList", _MISSING)
    if kind == "LanguageProperty":
        languages = instance.get("languageMap")
        return list(languages.values()) if isinstance(languages, dict) else _MISSING
    if kind == "VocabProperty":
        return instance.get("vocab", _MISSING)
    if kind == "JsonProperty":
        return instance.get("json", _MISSING)
    if kind == "ListProperty":
        return instance.get("valueList", _MISSING)
    return instance.get("value", _MISSING)


def _instances(attribute: Any) -> list[dict[str, Any]]:
    if isinstance(attribute, list):
        return [item for item in attribute if isinstance(item, dict)]
    return [attribute] if isinstance(attribute, dict) else []


def resolve_path(attrs: dict[str, Any], path: Path, expand: Callable[[str], str]) -> list[Any]:
    """Every value ``path`` reaches in an entity's expanded attributes (one per instance)."""
    found: list[Any] = []
    for instance in _instances(attrs.get(expand(path.attribute))):
        current: Any = instance
        for member in path.members:
            if not isinstance(current, dict):
                current = _MISSING
                break
            if member in CORE_MEMBERS:
                current = current.get(member, _MISSING)
            else:
                current = current.get(expand(member), _MISSING)
        if current is _MISSING:
            continue
        if _is_language_map(current) and path.json_path:
            # 4.9: attr[en] reads one language of a LanguageProperty, attr[*] any of them.
            languages = current.get("languageMap") or {}
            tag = path.json_path[0]
            chosen = list(languages.values()) if tag == "*" else languages.get(tag, _MISSING)
            if chosen is not _MISSING:
                found.append(chosen)
            continue
        value = (
            instance_value(current)
            if isinstance(current, dict) and ("type" in current)
            else current
        )
        for key in path.json_path:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if value is not _MISSING:
            found.append(value)
    return found


def _is_language_map(current: Any) -> bool:
    return isinstance(current, dict) and current.get("type") == "LanguageProperty"


def _is_relationship(attrs: dict[str, Any], path: Path, expand: Callable[[str], str]) -> bool:
    """Whether ``path`` names a Relationship or ListRelationship itself (not a member of it)."""
    if path.members or path.json_path:
        return False
    instances = _instances(attrs.get(expand(path.attribute)))
    return any(i.get("type") in ("Relationship", "ListRelationship") for i in instances)


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, str) and _DATETIME.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        left_time, right_time = _as_time(left), _as_time(right)
        if (
            left_time is not None
            and right_time is not None
            and (left_time.tzinfo is None) == (right_time.tzinfo is None)
        ):
            return left_time, right_time
        return left, right
    return None


def _equals(target: Any, literal: Any) -> bool:
    pair = _comparable(target, literal)
    return pair is not None and pair[0] == pair[1]


def _order(target: Any, literal: Any, op: str) -> bool:
    pair = _comparable(target, literal)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


def _matches_one(target: Any, op: str, value: Any) -> bool:
    if op in ("~=", "!~="):
        return isinstance(target, str) and value.search(target) is not None
    if isinstance(value, Range):
        return _order(target, value.low, ">=") and _order(target, value.high, "<=")
    if isinstance(value, tuple):
        return any(_equals(target, item) for item in value)
    if op in ("==", "!="):
        return _equals(target, value)
    return _order(target, value, op)


def _compare(node: Compare, attrs: dict[str, Any], expand: Callable[[str], str]) -> bool:
    if node.op not in ("==", "!=") and _is_relationship(attrs, node.path, expand):
        # 4.9: a relationship meets only equal and unequal; any other operator never matches.
        return False
    targets = resolve_path(attrs, node.path, expand)
    if not targets:
        return False
    flat: list[Any] = []
    for target in targets:
        flat.extend(target if isinstance(target, list) else [target])
    positive = "==" if node.op == "!=" else ("~=" if node.op == "!~=" else node.op)
    hit = any(_matches_one(target, positive, node.value) for target in flat)
    return not hit if node.op in ("!=", "!~=") else hit


def evaluate_q(node: Node, attrs: dict[str, Any], expand: Callable[[str], str]) -> bool:
    """Does an entity (its expanded attributes) satisfy ``node``?"""
    # ``expand`` maps a query's attribute names to IRIs under the querying client's @context.
    if isinstance(node, And):
        return all(evaluate_q(term, attrs, expand) for term in node.terms)
    if isinstance(node, Or):
        return any(evaluate_q(term, attrs, expand) for term in node.terms)
    if isinstance(node, Exists):
        present = bool(resolve_path(attrs, node.path, expand))
        return not present if node.negated else present
    return _compare(node, attrs, expand)
