"""The NGSI-LD query language (the ``q`` parameter): a parser into a small tree and a pure
evaluator over an entity's expanded attributes.

Grammar (after ETSI GS CIM 009, 4.9)::

    query  := and ('|' and)*
    and    := term (';' term)*
    term   := '(' query ')' | '!' path | path [op value]
    path   := name ('.' name)* ['[' key ('.' key)* ']'] | name '{' [type ':'] path '}'
    op     := '==' | '!=' | '>' | '>=' | '<' | '<=' | '~=' | '!~='
    value  := item (',' item)* | item '..' item
    item   := '"' chars '"' | number | true | false | bare (date-time, URI)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cityloop.platforms.data.perception.ngsild.entities import relationship_objects
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.patterns import (
    CallLimit,
    RequestBudget,
    safe_regex,
)
from cityloop.platforms.data.perception.ngsild.texts import text

MAX_Q_LENGTH = 4000
MAX_DEPTH = 20
MAX_LIST_ITEMS = 200
OPERATORS = ("!~=", "==", "!=", ">=", "<=", "~=", "=~", ">", "<")
# Members of an attribute instance that a path names directly, never expanded.
CORE_MEMBERS = frozenset(
    {"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId", "type", "instanceId"}
)
_NAME_CHARS = re.compile(r"[A-Za-z0-9_:/#@\-]+")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass(frozen=True)
class Path:
    attribute: str
    members: tuple[str, ...] = ()
    json_path: tuple[str, ...] = ()
    # rel{[Type:]path}: the path read on the entities the Relationship ``attribute`` targets.
    linked: Linked | None = None


@dataclass(frozen=True)
class Linked:
    """A linked-entity subquery's target (4.9): only entities of ``entity_type``, if given."""

    entity_type: str | None
    path: Path


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


class _Parser:
    def __init__(self, source: str, limit: RequestBudget | CallLimit) -> None:
        self.text = source
        self.pos = 0
        self.depth = 0
        self.limit = limit

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos : self.pos + length]

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def parse(self) -> Node:
        node = self.query()
        self.skip_spaces()
        if self.pos != len(self.text):
            raise bad_data(text("q_unexpected", pos=self.pos, char=repr(self.peek())))
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
                raise bad_data(text("q_too_deep", pos=self.pos))
            self.pos += 1
            node = self.query()
            self.skip_spaces()
            if self.peek() != ")":
                raise bad_data(text("q_missing", pos=self.pos, char="')'"))
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
        raise bad_data(text("q_operator_expected", pos=self.pos))

    def name(self) -> str:
        match = _NAME_CHARS.match(self.text, self.pos)
        if not match:
            raise bad_data(text("q_name_expected", pos=self.pos))
        self.pos = match.end()
        return match.group(0)

    def path(self) -> Path:
        self.skip_spaces()
        names = [self.name()]
        if self.peek() == "{":
            return Path(names[0], linked=self.linked())
        while self.peek() == "." and self.peek(2) != "..":
            self.pos += 1
            names.append(self.name())
        json_path: list[str] = []
        if self.peek() == "[":
            self.pos += 1
            end = self.text.find("]", self.pos)
            if end < 0:
                raise bad_data(text("q_missing", pos=self.pos, char="']'"))
            inner = self.text[self.pos : end]
            if not inner or any(not part for part in inner.split(".")):
                raise bad_data(text("q_empty_key", pos=self.pos))
            json_path = inner.split(".")
            self.pos = end + 1
        return Path(names[0], tuple(names[1:]), tuple(json_path))

    def linked(self) -> Linked:
        """``{[Type:]path}`` after a Relationship's name (4.9 EXAMPLE 13, 14)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise bad_data(text("q_too_deep", pos=self.pos))
        self.pos += 1
        start = self.pos
        first = self.name()
        entity_type = None
        prefix, colon, rest = first.partition(":")
        # ``Type:attr`` hints the target's type; an IRI (``https://...``) is a name as it is.
        if colon and prefix and rest and not rest.startswith("/"):
            entity_type = prefix
            self.pos = start + len(prefix) + 1
        else:
            self.pos = start
        inner = self.path()
        if self.peek() != "}":
            raise bad_data(text("q_missing", pos=self.pos, char="'}'"))
        self.pos += 1
        self.depth -= 1
        return Linked(entity_type, inner)

    def value(self, op: str) -> Any:
        if self.pos >= len(self.text):
            raise bad_data(text("q_missing_value", pos=self.pos))
        if op in ("~=", "!~="):
            item = self.item()
            if not isinstance(item, str):
                raise bad_data(text("q_pattern_not_string", pos=self.pos))
            return safe_regex(item, "q pattern", self.limit)
        first = self.item()
        if self.peek(2) == "..":
            self.pos += 2
            high = self.item()
            if op not in ("==", "!="):
                raise bad_data(text("q_range_operator", pos=self.pos))
            return Range(first, high)
        if self.peek() == ",":
            items = [first]
            while self.peek() == ",":
                self.pos += 1
                items.append(self.item())
                if len(items) > MAX_LIST_ITEMS:
                    raise bad_data(text("q_list_too_long", pos=self.pos))
            if op not in ("==", "!="):
                raise bad_data(text("q_list_operator", pos=self.pos))
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
            raise bad_data(text("q_unterminated_string", pos=self.pos))
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ",;|)" or self.text.startswith("..", self.pos):
                break
            self.pos += 1
        token = self.text[start : self.pos].strip()
        if not token:
            raise bad_data(text("q_missing_value", pos=self.pos))
        if token in ("true", "false"):
            return token == "true"
        if _NUMBER.match(token):
            number = float(token)
            return int(number) if number.is_integer() and "." not in token else number
        if "'" in token or '"' in token:
            raise bad_data(text("q_stray_quote", pos=self.pos))
        return token


def parse_q(source: str, limit: RequestBudget | CallLimit | None = None) -> Node:
    """Parse a q expression; a malformed one is a 400 BadRequestData naming the position."""
    # Its patterns match under ``limit`` (by default one budget for the whole expression).
    if not source or not source.strip():
        raise bad_data(text("q_empty"))
    if len(source) > MAX_Q_LENGTH:
        raise bad_data(text("q_too_long", limit=MAX_Q_LENGTH))
    return _Parser(source, limit if limit is not None else RequestBudget()).parse()


def linked_depth(node: Node) -> int:
    """How many relationships deep the q's linked-entity subqueries reach (0: none)."""
    if isinstance(node, And | Or):
        return max(linked_depth(term) for term in node.terms)
    depth, path = 0, node.path
    while path.linked is not None:
        depth, path = depth + 1, path.linked.path
    return depth


def attribute_names(node: Node) -> set[str]:
    """The (unexpanded) attribute names a q expression reads."""
    if isinstance(node, And | Or):
        return set().union(*(attribute_names(term) for term in node.terms))
    return {node.path.attribute}


# --- evaluation -------------------------------------------------------------------------------

_MISSING = object()
# Reads one entity by id for a linked-entity subquery: (expanded types, expanded attributes).
LinkedLoader = Callable[[str], tuple[list[str], dict[str, Any]] | None]


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


def _resolve_linked(
    attrs: dict[str, Any], path: Path, expand: Callable[[str], str], load: LinkedLoader | None
) -> list[Any]:
    """The values a linked-entity subquery reaches on the entities the relationship targets."""
    assert path.linked is not None
    if load is None:
        return []  # no way to read other entities here: nothing is reached
    wanted = expand(path.linked.entity_type) if path.linked.entity_type else None
    found: list[Any] = []
    for instance in _instances(attrs.get(expand(path.attribute))):
        for target_id in relationship_objects(instance):
            target = load(target_id)
            if target is None or (wanted is not None and wanted not in target[0]):
                continue
            found.extend(resolve_path(target[1], path.linked.path, expand, load))
    return found


def resolve_path(
    attrs: dict[str, Any],
    path: Path,
    expand: Callable[[str], str],
    load: LinkedLoader | None = None,
) -> list[Any]:
    """Every value ``path`` reaches in an entity's expanded attributes (one per instance)."""
    # ``load`` reads a linked entity (its expanded types and attributes) for rel{path}.
    if path.linked is not None:
        return _resolve_linked(attrs, path, expand, load)
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
    if path.members or path.json_path or path.linked:
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


def _compare(
    node: Compare, attrs: dict[str, Any], expand: Callable[[str], str], load: LinkedLoader | None
) -> bool:
    if node.op not in ("==", "!=") and _is_relationship(attrs, node.path, expand):
        # 4.9: a relationship meets only equal and unequal; any other operator never matches.
        return False
    targets = resolve_path(attrs, node.path, expand, load)
    if not targets:
        return False
    flat: list[Any] = []
    for target in targets:
        flat.extend(target if isinstance(target, list) else [target])
    positive = "==" if node.op == "!=" else ("~=" if node.op == "!~=" else node.op)
    hit = any(_matches_one(target, positive, node.value) for target in flat)
    return not hit if node.op in ("!=", "!~=") else hit


def evaluate_q(
    node: Node,
    attrs: dict[str, Any],
    expand: Callable[[str], str],
    load: LinkedLoader | None = None,
) -> bool:
    """Does an entity (its expanded attributes) satisfy ``node``?"""
    # ``expand`` maps a query's attribute names to IRIs under the querying client's @context;
    # ``load`` reads the entities linked-entity subqueries reach (without it they reach none).
    if isinstance(node, And):
        return all(evaluate_q(term, attrs, expand, load) for term in node.terms)
    if isinstance(node, Or):
        return any(evaluate_q(term, attrs, expand, load) for term in node.terms)
    if isinstance(node, Exists):
        present = bool(resolve_path(attrs, node.path, expand, load))
        return not present if node.negated else present
    return _compare(node, attrs, expand, load)
