"""A safe arithmetic expression language for scaling and converting device values.

Expressions come from device profiles, which partners and operators write, so they are untrusted.
Nothing here calls ``eval``, ``exec`` or ``compile`` on them: the text is parsed with
``ast.parse(mode="eval")`` and only an allow-list of nodes is turned into plain Python closures.
Anything not on the list (attribute access, subscripts, lambdas, other calls…) is refused when the
expression is compiled, and resource abuse (huge exponents, huge integers, infinities) is refused
when it is evaluated.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from cityloop.platforms.data.perception.codecs.errors import CodecError
from cityloop.platforms.data.perception.messages import Message

MAX_LENGTH = 200
MAX_EXPONENT = 10
# Integers beyond a float's range are only reachable by abuse, and big-int maths is what gets slow.
MAX_INT_BITS = 1024
MAX_ROUND_DIGITS = 15

Value = int | float | bool | str
Node = Callable[[Mapping[str, Any]], Value]

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    # name: (function, fewest arguments, most arguments)
    "min": (min, 2, 16),
    "max": (max, 2, 16),
    "abs": (abs, 1, 1),
    "round": (round, 1, 2),
}


def _fail(message: Message) -> CodecError:
    return CodecError(message, field="expression")


def _number(value: Any) -> int | float:
    # Arithmetic only on numbers: "ab" * 10**10 would otherwise build a 20 GB string.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    raise _fail(Message("perception.expr.needs_numbers", {"value": repr(value)}))


def _bounded(value: Any) -> Value:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise _fail(Message("perception.expr.too_large"))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(Message("perception.expr.not_finite"))
        return value
    # complex (a negative number to a fractional power) or anything else unexpected
    raise _fail(Message("perception.expr.not_real", {"value": repr(value)}))


class SafeExpression:
    """An expression validated once at construction; :meth:`evaluate` runs it on variables."""

    __slots__ = ("_root", "names", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise _fail(Message("perception.expr.not_text"))
        if len(text) > MAX_LENGTH:
            raise _fail(Message("perception.expr.too_long", {"limit": str(MAX_LENGTH)}))
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise _fail(
                Message("perception.expr.invalid", {"text": repr(text), "error": str(exc.msg)})
            ) from exc
        self.text = text
        names: set[str] = set()
        self._root = self._build(tree.body, names)
        self.names = frozenset(names)

    def __repr__(self) -> str:
        return f"SafeExpression({self.text!r})"

    def evaluate(self, variables: Mapping[str, Any]) -> Value:
        missing = self.names - variables.keys()
        if missing:
            raise _fail(
                Message(
                    "perception.expr.unknown_names",
                    {"names": str(sorted(missing)), "text": repr(self.text)},
                )
            )
        try:
            return _bounded(self._root(variables))
        except (ArithmeticError, TypeError, ValueError) as exc:
            if isinstance(exc, CodecError):
                raise
            raise _fail(
                Message("perception.expr.failed", {"text": repr(self.text), "error": str(exc)})
            ) from exc

    # -- the allow-list: each accepted node becomes a closure ---------------------------------

    def _build(self, node: ast.AST, names: set[str]) -> Node:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node, names)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self._binary(node, names)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self._build(node.operand, names)
            sign = -1 if isinstance(node.op, ast.USub) else 1
            return lambda v: _bounded(sign * _number(operand(v)))
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            return self._compare(node, names)
        if isinstance(node, ast.Call):
            return self._call(node, names)
        raise _fail(Message("perception.expr.node", {"node": type(node).__name__}))

    @staticmethod
    def _constant(node: ast.Constant) -> Node:
        value = node.value
        # str literals are allowed for comparisons (value == 'open'); arithmetic refuses them.
        if not isinstance(value, int | float | str):
            raise _fail(Message("perception.expr.constant", {"value": repr(value)}))
        checked = _bounded(value)
        return lambda _v: checked

    @staticmethod
    def _name(node: ast.Name, names: set[str]) -> Node:
        name = node.id
        # Dunder-ish names are never variables; refusing them early keeps the intent obvious.
        if name.startswith("_") or name in _FUNCTIONS:
            raise _fail(Message("perception.expr.name", {"name": repr(name)}))
        names.add(name)
        return lambda v: v[name]

    def _binary(self, node: ast.BinOp, names: set[str]) -> Node:
        left = self._build(node.left, names)
        right = self._build(node.right, names)
        if isinstance(node.op, ast.Pow):
            if isinstance(node.right, ast.Constant):
                # refuse an obviously abusive constant exponent at compile time
                _check_exponent(node.right.value)

            def power(v: Mapping[str, Any]) -> Value:
                base, exponent = _number(left(v)), _number(right(v))
                _check_exponent(exponent)
                return _bounded(base**exponent)

            return power
        function = _BINARY[type(node.op)]
        return lambda v: _bounded(function(_number(left(v)), _number(right(v))))

    def _compare(self, node: ast.Compare, names: set[str]) -> Node:
        first = self._build(node.left, names)
        pairs = zip(node.ops, node.comparators, strict=True)
        rest = [(_COMPARE[type(op)], self._build(c, names)) for op, c in pairs]

        def compare(v: Mapping[str, Any]) -> Value:
            left = first(v)
            for function, build in rest:
                right = build(v)
                if not function(left, right):
                    return False
                left = right
            return True

        return compare

    def _call(self, node: ast.Call, names: set[str]) -> Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise _fail(
                Message("perception.expr.functions", {"functions": str(sorted(_FUNCTIONS))})
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise _fail(Message("perception.expr.positional", {"function": node.func.id}))
        function, fewest, most = _FUNCTIONS[node.func.id]
        if not fewest <= len(node.args) <= most:
            raise _fail(
                Message(
                    "perception.expr.arity",
                    {"function": node.func.id, "fewest": str(fewest), "most": str(most)},
                )
            )
        args = [self._build(a, names) for a in node.args]
        if node.func.id == "round":
            return lambda v: _bounded(_round(*[_number(a(v)) for a in args]))
        return lambda v: _bounded(function(*[_number(a(v)) for a in args]))


def _check_exponent(exponent: Any) -> None:
    if not isinstance(exponent, int | float) or abs(exponent) > MAX_EXPONENT:
        raise _fail(Message("perception.expr.exponent", {"limit": str(MAX_EXPONENT)}))


def _round(value: int | float, digits: int | float | None = None) -> int | float:
    if digits is None:
        return round(value)
    if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
        raise _fail(Message("perception.expr.round_digits", {"limit": str(MAX_ROUND_DIGITS)}))
    return round(value, digits)


@functools.lru_cache(maxsize=1024)
def compile_expression(text: str) -> SafeExpression:
    """The validated expression for ``text``; cached because every message reuses its profile's."""
    return SafeExpression(text)
